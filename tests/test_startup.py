"""Start-up: ``--version`` and ``--help`` import none of the heavy libraries (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys

from recsys_tui.cli import main

HEAVY = ("numpy", "scipy", "pandas", "implicit", "faiss", "textual", "redis", "fakeredis")

PROBE = f"""
import json, sys
from recsys_tui.cli import main
main(["--version"])
main(["--help"])
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def test_version_and_help_import_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "recsys-tui " in out.stdout and "Commands:" in out.stdout
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_fast_help_is_the_registered_apps_help(capsys, monkeypatch):
    """The fast --help lists exactly the commands (and help) the full app registers."""
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["--help"]) == 0
    fast = capsys.readouterr().out
    assert main(["--home", "/nonexistent-only-for-help", "--help"]) == 0  # the full, registered app
    full = capsys.readouterr().out
    assert fast == full

"""The rooms keep their layering (import-linter) and the code stays ruff-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter not installed (pip install -e '.[test]')")
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_nothing_below_tui_imports_textual():
    offenders = [
        str(path.relative_to(ROOT))
        for room in ("data", "models", "training", "core")
        for path in (ROOT / room).rglob("*.py")
        if any(line.strip().startswith(("import textual", "from textual"))
               for line in path.read_text().splitlines())
    ]
    assert offenders == []

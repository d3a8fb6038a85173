"""A newcomer can find their room: every room's package docstring says what it holds and what it
may import, and nothing cites the design notes that live outside the repository."""

from __future__ import annotations

import ast
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
ROOMS = sorted({folder.split("/")[0] for folder in PACKAGE_DIR.values()})
"""Every top-level folder that installs under ``recsys_tui`` (the CLI package included)."""


@pytest.mark.parametrize("room", ROOMS)
def test_room_docstring_says_what_it_holds_and_may_import(room):
    doc = ast.get_docstring(ast.parse((ROOT / room / "__init__.py").read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 12, f"{room}/__init__.py: say what the room holds"
    assert "may import" in " ".join(doc.split()).lower(), f"{room}/__init__.py: say what the room may import"


OUTSIDE_NOTES = "DESIGN" + ".md"
"""The design notes outside the repository (spelt in two parts so this file does not cite them)."""


def test_nothing_cites_the_outside_design_notes():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    citing = [name for name in files if name.endswith((".py", ".md", ".toml", ".tcss", ".cfg"))
              and (ROOT / name).is_file() and OUTSIDE_NOTES in (ROOT / name).read_text(encoding="utf-8")]
    assert citing == [], "cite docs/ARCHITECTURE.md or docs/METHOD.md instead"

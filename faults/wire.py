"""Bytes bound for a terminal: run the CLI capturing them, and say what in them is unsafe."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from recsys_tui.common.text import has_control

SGR = re.compile(rb"\x1b\[[0-9;]*m")
"""The colour/style sequences Rich itself writes to a colour terminal."""


def run_wire(args: list[str], env: dict | None = None, timeout: float = 180) -> tuple[int, bytes, bytes]:
    """``recsys-tui ARGS`` with stdout/stderr captured as the bytes a terminal would receive."""
    proc = subprocess.run([sys.executable, "-m", "recsys_tui", *args], capture_output=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "160", **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def wire_problem(data: bytes, styled: bool = False) -> str | None:
    """What is wrong with bytes bound for a terminal: invalid UTF-8 or a control character
    (C0 but newline/tab, DEL, C1, ESC, bidi/invisible format characters). With ``styled`` the
    colour sequences Rich writes itself (``ESC[…m``) are allowed."""
    if styled:
        data = SGR.sub(b"", data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte {exc.start}"
    for n, ch in enumerate(text):
        if ch not in "\n\t" and has_control(ch):
            return f"control character U+{ord(ch):04X} at {n}: {text[max(0, n - 30):n + 10]!r}"
    return None


def has_traceback(err: bytes) -> bool:
    """Whether a Python traceback reached stderr."""
    return b"Traceback" in err


def one_line(err: bytes) -> bool:
    """Whether stderr holds exactly one line (progress lines ``· …`` aside)."""
    lines = [line for line in err.decode("utf-8", "replace").splitlines()
             if line.strip() and not line.lstrip().startswith("·")]
    return len(lines) == 1

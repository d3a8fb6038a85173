"""Throw-away homes, deterministic event streams and CLI runs that the scenarios drive."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.cache import cache_dir


def copy_home(src: Home, dest: Path) -> Home:
    """A fresh home with ``src``'s dataset cache and current model only (never its event log)."""
    dest.mkdir(parents=True)
    shutil.copytree(cache_dir(src.data), cache_dir(dest / "data"))
    version = artifacts.current_version(src.artifacts)
    if version is not None:
        shutil.copytree(src.artifacts / version, dest / "artifacts" / version)
        artifacts.set_current(dest / "artifacts", version)
    return Home(dest)


def event_stream(seed: int, n: int, users: list[int], n_items: int = 1682,
                 undo_share: float = 0.05) -> list[tuple[str, int, int, int | None]]:
    """A deterministic mix of ratings, clicks, views and undos: (kind, user, item, rating)."""
    rng = random.Random(seed)
    out: list[tuple[str, int, int, int | None]] = []
    live: Counter[int] = Counter()
    for _ in range(n):
        user = rng.choice(users)
        roll = rng.random()
        if roll < undo_share and live[user]:
            out.append(("undo", user, 0, None))
            live[user] -= 1
        elif roll < 0.25:
            out.append((rng.choice(("click", "view")), user, rng.randint(1, n_items), None))
            live[user] += 1
        else:
            out.append(("rating", user, rng.randint(1, n_items), rng.randint(1, 5)))
            live[user] += 1
    return out


def play(engine: Engine, event: tuple[str, int, int, int | None], k: int = 10):
    """Send one stream entry to the engine (an undo cancels the user's newest event)."""
    kind, user, item, rating = event
    if kind == "undo":
        return engine.undo_last(user, k)
    return engine.record(user, item, kind, rating, k=k, with_before=False)



def run_cli(args: list[str], env: dict | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """``recsys-tui ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "recsys_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {}), "COLUMNS": "200"})
    return proc.returncode, proc.stdout, proc.stderr


def one_clean_line(stderr: str, progress: bool = False) -> str | None:
    """``None`` when stderr is exactly one line without a traceback, else what is wrong.

    With ``progress`` the stage lines a long command prints first (``· load``) are allowed.
    """
    lines = [line for line in stderr.splitlines() if line.strip()
             and not (progress and line.lstrip().startswith("·"))]
    if "Traceback" in stderr:
        return f"traceback on stderr: {stderr.strip().splitlines()[-1][:160]}"
    if len(lines) != 1:
        return f"{len(lines)} stderr lines: {stderr.strip()[:200]!r}"
    return None

"""``recsys-tui demo --script FILE``: run the real app headless from a plain-text script.

The script language lives in ``recsys_tui.demo_script``, the driving in ``recsys_tui.demo_runner``
and the printing in ``recsys_tui.demo_transcript``. A failed ``expect-…`` line is reported in place
and makes the command exit 1 at the end.

By default the demo runs on a throw-away copy of the home (dataset, published models and the event
log, with the embedded feature store), so it passes on any home and leaves it unchanged;
``--in-place`` runs on the home itself (and its Redis, if one is configured).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from recsys_tui.common.text import plain
from recsys_tui.console import SafeConsole
from recsys_tui.context import STATE, open_engine
from recsys_tui.demo_script import DemoScriptError, read_script
from recsys_tui.options import command_app

app = command_app()


class DemoUsageError(DemoScriptError):
    """A ``demo`` flag value that cannot be used."""

    exit_code = 2


def parse_size(text: str) -> tuple[int, int]:
    """``"120x40"`` → (120, 40); terminals from 40×12 to 500×200."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise DemoUsageError(f"--size must look like 120x40, got {text[:40]!r}")
    size = int(w), int(h)
    if not (40 <= size[0] <= 500 and 12 <= size[1] <= 200):
        raise DemoUsageError(f"--size {size[0]}x{size[1]} is outside 40x12 … 500x200")
    return size


@app.command("demo")
def demo(
    script: Annotated[Path, typer.Option("--script", "-s", help="The script: one action a line.")],
    size: Annotated[str, typer.Option("--size", help="Terminal size, WIDTHxHEIGHT.")] = "120x40",
    screenshot: Annotated[Path | None, typer.Option(
        "--screenshot", help="Save an SVG of the final screen here.")] = None,
    json_file: Annotated[Path | None, typer.Option(
        "--json", help="Also write the latency summary and failures here.")] = None,
    in_place: Annotated[bool, typer.Option(
        "--in-place", help="Run on the home itself (its event log, models and Redis) instead of "
        "a throw-away copy; the demo's ratings and new users then stay.")] = False,
) -> None:
    """Run the real app headless from a script and print a transcript (SSH demos, CI).

    \b
    One action a line; # starts a comment (search and expect-reason take the rest of the line):
      login ID | login new        search TEXT       genre NAME|all     select ITEM
      rate 1-5   click   similar   undo             rate-top COUNT [STARS]
      retrain   wait   help   learning              press KEY          screenshot PATH.svg
      expect-changed   expect-excluded   expect-personal   expect-cold
      expect-degraded  expect-new-version             expect-reason TEXT
    A failed expect-… line is marked in the transcript and makes the command exit 1.
    Runs on a throw-away copy of the home (embedded feature store) unless --in-place.
    `help` leaves the help screen open, so `help` last with --screenshot captures it.
    Examples: examples/demo.script, examples/latency.script.
    """
    from recsys_tui.core.engine import Engine
    from recsys_tui.demo_runner import run_demo, throwaway_home

    dims = parse_size(size)
    actions = read_script(script)
    if screenshot is not None and screenshot.suffix.lower() != ".svg":
        raise DemoUsageError(f"--screenshot {screenshot} should end in .svg")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # bound to today's stdout: Textual redirects sys.stdout while the app runs
    console = SafeConsole(file=sys.stdout)
    if in_place:
        engine = open_engine()
        stats = run_demo(STATE.home, STATE.effective_redis_url(), actions, dims, console,
                         screenshot, engine=engine, log_url=STATE.effective_log_url())
    else:
        open_engine().close()  # first use: fetch and train in the home itself (with progress)
        with throwaway_home(STATE.home) as copy:
            console.print(f"(on a throw-away copy of {plain(str(STATE.home.root))}; "
                          "--in-place keeps what the demo does)", markup=False, highlight=False)
            stats = run_demo(copy, None, actions, dims, console, screenshot,
                             engine=Engine.open(copy, None))
    if json_file is not None:
        from recsys_tui.common.fsutil import atomic_write_json

        atomic_write_json(json_file, stats)
    if stats["expect_failures"]:
        STATE.err.print(f"recsys-tui: {len(stats['expect_failures'])} expectation(s) failed: "
                        + "; ".join(stats["expect_failures"]), markup=False, soft_wrap=True)
        raise typer.Exit(1)

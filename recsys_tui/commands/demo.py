"""``recsys-tui demo --script FILE``: run the real app headless from a plain-text script.

The script language lives in ``recsys_tui.demo_script``; this module drives the app's pilot surface
(``tui.pilot``) inside ``App.run_test`` and prints a transcript: every action, the recommendation
list before and after each interaction, the engine's timing breakdown and the keypress → pane time.
A failed ``expect-…`` line is reported in place and makes the command exit 1 at the end.

By default the demo runs on a throw-away copy of the home (dataset, published models and the event
log, with the embedded feature store), so it passes on any home and leaves it unchanged;
``--in-place`` runs on the home itself (and its Redis, if one is configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import atomic_write_bytes, atomic_write_json
from recsys_tui.common.text import clean, plain
from recsys_tui.console import SafeConsole
from recsys_tui.context import STATE
from recsys_tui.core.home import Home
from recsys_tui.core.results import EventResult, RecList, percentile
from recsys_tui.data.movielens import GENRES
from recsys_tui.demo_script import Action, DemoScriptError, parse_script

__all__ = ["DemoError", "DemoUsageError", "parse_script", "parse_size", "register", "run_demo"]

MAX_SCRIPT_BYTES = 1_000_000
SHOWN = 10


class DemoError(RecsysError):
    """The demo could not run an action (the message names the script line)."""


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


@contextlib.contextmanager
def throwaway_home(home: Home) -> Iterator[Home]:
    """A private copy of ``home`` (dataset, published models, event log), deleted afterwards.

    The event log is copied with SQLite's backup API, so a log another process is writing is copied
    consistently; preferences and reports are not copied.
    """
    with tempfile.TemporaryDirectory(prefix="recsys-tui-demo-") as tmp:
        copy = Home(Path(tmp) / "home")
        copy.root.mkdir(mode=0o700)
        try:
            for folder in (home.data, home.artifacts):
                if folder.is_dir():
                    shutil.copytree(folder, copy.root / folder.name, symlinks=True)
            if home.event_log.is_file():
                source = sqlite3.connect(f"file:{home.event_log}?mode=ro", uri=True)
                target = sqlite3.connect(copy.event_log)
                try:
                    source.backup(target)
                finally:
                    target.close()
                    source.close()
        except (OSError, sqlite3.Error) as exc:
            raise DemoError(f"cannot copy the home {home.root} for the demo: {exc} "
                            "(--in-place runs on the home itself)") from None
        yield copy


def read_script(path: Path) -> list[Action]:
    """Read and parse the whole script before anything runs."""
    try:
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise DemoScriptError(f"{path}: script larger than {MAX_SCRIPT_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DemoScriptError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise DemoScriptError(f"cannot read script {path}: {exc.strerror or exc}") from None
    return parse_script(text)


@dataclass
class Transcript:
    """What the run printed and found: expectation failures and the latency samples."""

    console: Console
    failures: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    def say(self, text: str = "", style: str | None = None) -> None:
        self.console.print(Text(clean(text), style=style or ""), soft_wrap=True)

    def recs(self, recs: RecList, title: str, labels: dict[int, str] | None = None) -> None:
        kind = "personal" if recs.personal else "popular (cold start)"
        self.say(f"  {title}: top-{len(recs.items)} for user {recs.user_id}, {kind}, "
                 f"model {recs.model_version}" + (f" [degraded: {recs.degraded}]" if recs.degraded else ""))
        for r in recs.items[:SHOWN]:
            mark = f"{labels.get(r.item_id, ''):>4} " if labels is not None else ""
            self.say(f"   {mark}{r.rank:>2}. {r.title[:40]:<40} {r.score:8.3f}  {r.reason[:64]}")

    def event(self, result: EventResult | None, render_ms: float | None) -> None:
        if result is None:
            self.say("  nothing changed (the same rating again, or nothing to undo)")
            return
        what = f"rated ★{result.rating:g}" if result.kind == "rating" else result.kind
        self.say(f"  event {result.event_id}: user {result.user_id} {what} #{result.item_id}"
                 + (f" [degraded: {result.degraded}]" if result.degraded else ""))
        steps = " · ".join(f"{k} {v:.2f}" for k, v in result.timings.steps.items())
        pane = f"; keypress → pane {render_ms:.1f} ms" if render_ms is not None else ""
        self.say(f"  engine {result.timings.total_ms:.2f} ms ({steps}){pane}")
        if result.before is not None:
            self.say("  before: " + ", ".join(f"#{i}" for i in result.before.item_ids[:SHOWN]))
        labels = {c.item_id: c.label for c in result.changes}
        self.recs(result.after, "after", labels)
        out = [f"{c.title} (was {c.before})" for c in result.changes if c.after is None]
        self.say("  dropped out: " + ("; ".join(out) if out else "none"))

    def check(self, action: Action, ok: bool, detail: str) -> None:
        if ok:
            self.say(f"  ✓ {detail}")
        else:
            self.failures.append(f"line {action.line}: {action} — {detail}")
            self.say(f"  ✗ FAILED: {detail}")


class Runner:
    """Executes actions against a running app (inside ``run_test``)."""

    def __init__(self, app, pilot, out: Transcript) -> None:
        self.app, self.pilot, self.out = app, pilot, out
        self.search_text = ""

    async def close_help(self) -> None:
        """``help`` leaves the help screen open (for a final screenshot); the next action closes it."""
        from recsys_tui.tui.screens.help import HelpScreen

        if isinstance(self.app.screen, HelpScreen):
            await self.pilot.press("escape")
            await self.settle()

    async def settle(self) -> None:
        from recsys_tui.tui.pilot import workers_idle

        for _ in range(3):
            await workers_idle(self.app)
            await self.pilot.pause()

    async def select(self, item_id: int):
        """Select a movie and let its repaint finish: a person is slower than a frame, and the
        next keypress → pane measurement should not include this selection's own repaint."""
        movie = await self.app.select(item_id)
        await self.pilot.pause()
        return movie

    def _render_ms(self) -> float | None:
        return self.app.render_ms[-1] if self.app.render_ms else None

    def _recs(self) -> RecList:
        if self.app.last_recs is None:
            raise DemoError("no recommendation list yet: log in first")
        return self.app.last_recs

    async def run(self, action: Action) -> None:
        verb, args, app, out = action.verb, action.args, self.app, self.out
        if verb not in ("screenshot", "help"):
            await self.close_help()
        if verb == "login":
            recs = await app.login(args[0])
            out.recs(recs, f"logged in as user {recs.user_id}")
        elif verb in ("search", "genre"):
            if verb == "search":
                self.search_text, genre = args[0], None  # keep the genre filter
            else:
                genre = self._genre(args[0])  # "" clears it
            rows = await app.search(self.search_text, genre)
            shown = "; ".join(f"#{r.item_id} {r.title}" for r in rows[:5])
            more = " …" if len(rows) > 5 else ""
            out.say(f"  {len(rows)} movie{'s' * (len(rows) != 1)}" + (f": {shown}{more}" if rows else ""))
        elif verb == "select":
            movie = await self.select(args[0])
            yours = f", you rated ★{movie.your_rating:g}" if movie.your_rating is not None else ""
            out.say(f"  #{movie.item_id} {movie.title} — {', '.join(movie.genres)}; "
                    f"avg {movie.avg_rating:.2f} from {movie.n_ratings} ratings{yours}")
        elif verb in ("rate", "click", "undo"):
            result = await (app.rate(args[0]) if verb == "rate" else getattr(app, verb)())
            out.event(result, self._render_ms())
        elif verb == "rate-top":
            await self._rate_top(*args)
        elif verb == "similar":
            sims = await app.similar()
            out.say(f"  more like #{sims.item_id} ({sims.timings.total_ms:.2f} ms): "
                    + "; ".join(f"{s.title} {s.similarity:.2f}" for s in sims.items[:5]))
        elif verb == "retrain":
            before = self._recs().model_version
            t0 = time.perf_counter()
            version = await app.retrain()
            await self.settle()
            out.versions.append(version)
            out.say(f"  retrained in the background in {time.perf_counter() - t0:.1f} s: "
                    f"model {before} → {version}")
        elif verb == "wait":
            await self.settle()
            out.say("  workers finished")
        elif verb == "help":
            from recsys_tui.tui.screens.help import HelpScreen

            if not isinstance(app.screen, HelpScreen):
                await self.pilot.press("f1")
                await self.settle()
            out.say(f"  help screen: {type(app.screen).__name__} (open until the next action)")
        elif verb == "learning":
            report = await app.learning()
            out.say(f"  learning view: replayed {report.events:,} events")
            for row in report.rows:
                out.say(f"   {row.strategy:<18} HR@10 {row.hr_at_10:.4f}  {row.us_per_event:,.0f} µs/event")
            await self.pilot.press("escape")
            await self.settle()
        elif verb == "press":
            await self.pilot.press(args[0])
            await self.settle()
            out.say(f"  pressed {args[0]}; screen {type(app.screen).__name__}")
        elif verb == "screenshot":
            path = save_screenshot(app, Path(args[0]))
            out.say(f"  screenshot written to {path}")
        else:
            self._expect(action)

    def _genre(self, name: str) -> str:
        if name.lower() in ("all", "any", "none"):
            return ""
        match = next((g for g in GENRES if g.lower() == name.lower()), None)
        if match is None:
            raise DemoError(f"unknown genre {name[:40]!r} (known: all, {', '.join(GENRES)})")
        return match

    async def _rate_top(self, count: int, stars: int) -> None:
        for n in range(count):
            recs = self._recs()
            if not recs.items:
                raise DemoError("the recommendation list is empty")
            top = recs.items[0]
            await self.app.select_recommendation(1)  # as a person would: the list, its first row
            await self.pilot.pause()
            result = await self.app.rate(stars)
            if result is None:
                self.out.say(f"  {n + 1:>3}. #{top.item_id} already rated ★{stars}: nothing changed")
                continue
            render = self._render_ms()
            moved = sum(1 for c in result.changes if c.label not in ("=",))
            self.out.say(f"  {n + 1:>3}. ★{stars} #{top.item_id} {top.title[:40]:<40} engine "
                         f"{result.timings.total_ms:5.2f} ms, keypress → pane {render or 0:5.1f} ms, "
                         f"{moved} changes")

    def _expect(self, action: Action) -> None:
        verb, out, app = action.verb, self.out, self.app
        result: EventResult | None = app.last_result
        if verb in ("expect-changed", "expect-excluded") and result is None:
            out.check(action, False, "no interaction yet")
            return
        recs = self._recs()
        if verb == "expect-changed":
            changed = result.changed
            out.check(action, changed, f"the list {'changed' if changed else 'did not change'} "
                                       f"after event {result.event_id}")
        elif verb == "expect-excluded":
            gone = result.item_id not in recs.item_ids
            out.check(action, gone, f"#{result.item_id} {'is not' if gone else 'IS'} in the list")
        elif verb in ("expect-personal", "expect-cold"):
            want = verb == "expect-personal"
            kind = "personal" if recs.personal else "popularity (cold start)"
            out.check(action, recs.personal == want, f"the list is {kind}")
        elif verb == "expect-degraded":
            why = recs.degraded or (result.degraded if result else None)
            out.check(action, bool(why), f"degraded: {why}" if why else "the store is healthy")
        elif verb == "expect-new-version":
            ok = bool(out.versions) and recs.model_version == out.versions[-1]
            out.check(action, ok, f"the list comes from model {recs.model_version}"
                                  + ("" if out.versions else " (no retrain ran)"))
        elif verb == "expect-reason":
            text = action.args[0]
            hit = next((r for r in recs.items if text.lower() in r.reason.lower()), None)
            out.check(action, hit is not None,
                      f"#{hit.item_id} because {hit.reason!r}" if hit else f"no reason contains {text!r}")


def save_screenshot(app, path: Path) -> Path:
    """Write the current screen as SVG, atomically."""
    if path.suffix.lower() != ".svg":
        raise DemoError(f"screenshots are SVG: {path} should end in .svg")
    try:
        atomic_write_bytes(path, app.export_screenshot().encode())
    except OSError as exc:
        raise DemoError(f"cannot write screenshot {path}: {exc.strerror or exc}") from None
    return path


def summary(app, out: Transcript) -> dict:
    """Session latencies: keypress → recommendation pane, and engine time, per interaction."""
    render, engine = list(app.render_ms), list(app.engine_ms)
    stats = {
        "interactions": len(engine),
        "keypress_to_pane_ms": {"p50": percentile(render, 50), "p99": percentile(render, 99),
                                "max": max(render, default=float("nan"))},
        "engine_ms": {"p50": percentile(engine, 50), "p99": percentile(engine, 99)},
        "expect_failures": list(out.failures),
    }
    out.say()
    if engine:
        k, e = stats["keypress_to_pane_ms"], stats["engine_ms"]
        out.say(f"{len(engine)} interactions: keypress → recommendation pane p50 {k['p50']:.1f} ms, "
                f"p99 {k['p99']:.1f} ms, max {k['max']:.1f} ms; engine p50 {e['p50']:.2f} ms, "
                f"p99 {e['p99']:.2f} ms")
    return stats


async def _drive(app, actions: list[Action], size: tuple[int, int], out: Transcript,
                 screenshot: Path | None) -> dict:
    from recsys_tui.tui.pilot import PilotError

    async with app.run_test(size=size) as pilot:
        runner = Runner(app, pilot, out)
        await app.wait_ready()
        for action in actions:
            out.say(f"▶ {action.line}: {action}", style="bold")
            try:
                await runner.run(action)
            except PilotError as exc:
                raise DemoError(f"line {action.line} ({action}): {exc}") from None
            except TimeoutError:
                raise DemoError(f"line {action.line} ({action}): the app did not finish in time "
                                f"(RECSYS_TUI_PILOT_TIMEOUT)") from None
        if screenshot is not None:
            out.say(f"final screenshot written to {save_screenshot(app, screenshot)}")
        return summary(app, out)


def run_demo(home, redis_url: str | None, actions: list[Action], size: tuple[int, int],
             console: Console, screenshot: Path | None = None, engine=None,
             log_url: str | None = None) -> dict:
    """Run ``actions`` against the real app headless; returns the latency summary."""
    from recsys_tui.app_factory import make_app

    app = make_app(home, redis_url, engine=engine, log_url=log_url)
    out = Transcript(console)
    try:
        return asyncio.run(_drive(app, actions, size, out, screenshot))
    finally:
        if app.engine is not None:
            app.engine.close()


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
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
        from recsys_tui.commands.online import open_engine

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
                from recsys_tui.core.engine import Engine

                stats = run_demo(copy, None, actions, dims, console, screenshot,
                                 engine=Engine.open(copy, None))
        if json_file is not None:
            atomic_write_json(json_file, stats)
        if stats["expect_failures"]:
            STATE.err.print(f"recsys-tui: {len(stats['expect_failures'])} expectation(s) failed: "
                            + "; ".join(stats["expect_failures"]), markup=False, soft_wrap=True)
            raise typer.Exit(1)

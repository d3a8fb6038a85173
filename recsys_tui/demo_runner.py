"""Drive the real app headless for ``recsys-tui demo``: each script action through the app's pilot
surface (``tui.pilot``) inside ``App.run_test``, on a throw-away copy of the home unless asked
otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from recsys_tui.core.home import Home
from recsys_tui.core.results import EventResult, RecList
from recsys_tui.data.movielens import GENRES
from recsys_tui.demo_script import Action
from recsys_tui.demo_transcript import DemoError, Transcript, save_screenshot, summary


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
            await self.settle()  # what the keys led to, every pane included
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
            await runner.settle()  # the panes a last key's workers fill are part of the picture
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

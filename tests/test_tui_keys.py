"""The app in a person's hands: keys, focus, quitting, confirmations, untrusted titles.

Pilot tests (``App.run_test``) on the real ML-100K home; no sleeps (workers are waited for).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time

import pytest
from recsys_tui.core import artifacts
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.screens.learning import LearningScreen
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen
from recsys_tui.tui.screens.pickers import Confirm
from recsys_tui.tui.widgets.user_table import UserTable
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input

from recsys_tui.app_factory import make_app, make_services
from tests.events import logged
from tests.tui_helpers import (
    catalogue_ids,
    drive,
    focusables,
    footprint,
    open_screen,
    settle,
    text_of,
    type_words,
)

pytestmark = pytest.mark.tui

@pytest.mark.slow
@pytest.mark.parametrize("screen", ["login", "main", "help", "genre", "learning", "switch-user"])
def test_typing_words_into_every_focusable_widget_only_searches(home, screen):
    """Letters typed anywhere log nothing, publish nothing, create no user and change no screen."""
    services = make_services(home)
    services.replay = None  # the learning view without its replay: only its keys are tested here
    app = RecsysApp(services)

    async def body(app: RecsysApp, pilot) -> None:
        expected = await open_screen(app, pilot, screen)
        assert isinstance(app.screen, expected)
        before = footprint(app, home)
        widgets = focusables(app)
        assert widgets, f"nothing to focus on {screen}"
        for widget in widgets:
            await type_words(app, pilot, widget)
            assert isinstance(app.screen, expected), f"typing into {widget} left {screen}"
            assert footprint(app, home) == before, f"typing into {widget} changed the home"
            assert app.is_running and app.errors == []
        if screen in ("main", "login", "switch-user"):  # a letter in the list starts a search
            table = app.screen.query_one("#catalogue-table" if screen == "main" else "#login-table")
            table.focus()
            await pilot.press(*"wars")
            await settle(app, pilot)
            box = app.screen.query_one("#search" if screen == "main" else "#login-search", Input)
            assert app.focused is box and box.value == "wars"
            await pilot.press("escape")  # Escape: back to the list it filters
            await pilot.pause()
            assert app.focused is table and isinstance(app.screen, expected)
            if screen == "main":  # ↓ in the box: into the list below it, the search kept
                await pilot.press("slash")
                await pilot.pause()
                assert app.focused is box
                await pilot.press("down")
                await pilot.pause()
                assert app.focused is table and box.value == "wars"

    drive(app, body, (80, 24))


BURST = ["q", "u", "i", "z", "u", "g", "l", "f2", "f3", "f4", "f6", "ctrl+r", "1", "5", "enter",
         "escape", "tab", "slash", "f1", "ctrl+p"]
"""Keys that arrive in the same frame as the quit key (a person typing fast, or "quiz")."""


def burst(app: RecsysApp, first: str) -> None:
    """Post ``first`` and every BURST key at once, without letting the app run in between."""
    for key in [first, *BURST]:
        char = key if len(key) == 1 else None
        app.post_message(events.Key(key, char))


@pytest.mark.slow
@pytest.mark.parametrize("screen", ["login", "main", "search", "help", "genre", "learning", "retrain",
                                    "confirm"])
def test_quit_with_keys_queued_behind_it_exits_cleanly_and_fast(home, screen):
    """ctrl+q plus a burst of other keys on every screen (and with a retrain or the learning
    replay running): no traceback, return code 0, quick (loosely timed; the benchmark is in
    examples/quit_timing.py)."""
    timing: dict[str, float] = {}
    versions = artifacts.versions(home.artifacts)
    app = make_app(home)

    async def body(app: RecsysApp, pilot) -> None:
        name = {"search": "main", "retrain": "main", "confirm": "main"}.get(screen, screen)
        await open_screen(app, pilot, name)
        if screen == "search":
            await pilot.press(*"qu")  # quit's letter typed into a list: a search, not a quit
            await settle(app, pilot)
            assert isinstance(app.screen, MainScreen) and app.focused.id == "search"
        elif screen == "retrain":
            app.main.start_retrain(None)
        elif screen == "confirm":
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert isinstance(app.screen, Confirm)
        elif screen == "learning":
            assert isinstance(app.screen, LearningScreen)
        timing["t0"] = time.perf_counter()
        burst(app, "ctrl+q")
        while app.is_running and time.perf_counter() - timing["t0"] < 10:
            await asyncio.sleep(0)  # yield to the app only; bounded

    drive(app, body, (80, 24))
    elapsed = time.perf_counter() - timing["t0"]
    assert app.crash is None and app.return_code == 0
    # Liveness only: the quit did not wait for the work (checked below by the cancellation);
    # how fast it is (≤ 0.5 s) is measured by examples/quit_timing.py, not asserted here.
    assert not app.is_running, f"the app was still running {elapsed:.2f} s after ctrl+q"
    if screen in ("retrain", "learning"):
        assert app.cancelled_on_quit, "the quit should name the work it cancelled"
        assert app.stop.join(120), "the cancelled work stops at its next check"
    assert artifacts.versions(home.artifacts) == versions, "nothing is published after the quit"


def test_ctrl_p_opens_the_palette_from_every_screen_and_text_box(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        places = [("login table", None), ("login filter box", "#login-search")]
        for where, focus in places:
            if focus:
                app.screen.query_one(focus).focus()
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert isinstance(app.screen, CommandPalette), where
            await pilot.press("escape")
            await pilot.pause()
        await app.login(1)
        for focus in ("#catalogue-table", "#search", "#recs-table"):
            app.screen.query_one(focus).focus()
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert isinstance(app.screen, CommandPalette), focus
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette), "help"

    drive(make_app(home), body, (80, 24))


def test_tab_skips_read_only_panes_and_focus_shows_without_colour(home, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await settle(app, pilot)
        seen = []
        for _ in range(4):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(app.focused.id)
            pane = "recs" if app.focused.id == "recs-table" else "catalogue"
            assert str(app.screen.query_one(f"#{pane}").border_title).startswith("▶ ")
            other = "catalogue" if pane == "recs" else "recs"
            assert not str(app.screen.query_one(f"#{other}").border_title).startswith("▶ ")
        assert set(seen) <= {"search", "catalogue-table", "recs-table"}
        assert "detail" not in seen and "profile" not in seen

    drive(make_app(home), body, (120, 40))


def test_rating_again_with_the_same_value_changes_nothing_and_a_new_value_replaces_it(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        rows = await app.search("")
        item = next(r.item_id for r in rows if r.your_rating is None)
        await app.select(item)
        n0 = logged(home)
        first = await app.rate(5)
        assert first is not None and logged(home) == n0 + 1
        for _ in range(4):  # pressing 5 four more times: one quiet notice each, nothing logged
            await pilot.press("5")
            await settle(app, pilot)
        assert logged(home) == n0 + 1
        assert ("information", "no change", f"Already rated {app.engine.catalogue.title(item)} ★5: "
                "nothing changed.") in app.notices
        changed = await app.rate(3)
        assert changed is not None and changed.rating == 3 and logged(home) == n0 + 2
        assert app.engine.movie(item, 1).your_rating == 3
        assert "re-rated ★5→★3" in str(app.main.recs.border_title)
        assert "ERROR" not in text_of(app, "#status") and app.errors == []

    drive(make_app(home), body, (80, 24))


def test_similar_then_rate_rates_the_visibly_selected_similar_movie(home):
    """F3 from the recommendations: the similar list takes the focus and its highlighted movie
    is the one 1–5 rate (keys and pilot alike)."""
    async def body(app: RecsysApp, pilot) -> None:
        recs = await app.login(7)
        await settle(app, pilot)
        await pilot.press("tab")  # into the recommendations
        await settle(app, pilot)
        source = recs.items[0].item_id
        assert app.main.selected == source
        await pilot.press("f3")
        await settle(app, pilot)
        assert app.focused is app.screen.query_one("#catalogue-table")
        highlighted = app.main.catalogue.selected_item()
        assert highlighted != source and app.main.selected == highlighted
        stars = 4 if app.engine.movie(highlighted, 7).your_rating != 4 else 2
        await pilot.press(str(stars))
        await settle(app, pilot)
        assert app.last_result.item_id == highlighted
        # the pilot does the same
        sims = await app.similar()
        chosen = app.main.selected
        assert chosen == app.main.catalogue.selected_item() and chosen in {s.item_id for s in sims.items}
        result = await app.rate(1 if app.engine.movie(chosen, 7).your_rating != 1 else 2)
        assert result.item_id == chosen

    drive(make_app(home), body, (120, 40))


def test_retrain_and_new_user_ask_first(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        users = len(app.engine.log.registered_users())
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and len(app.engine.log.registered_users()) == users
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and len(app.engine.log.registered_users()) == users + 1
        versions = artifacts.versions(home.artifacts)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and artifacts.versions(home.artifacts) == versions

    drive(make_app(home), body, (80, 24))


@pytest.mark.slow
def test_a_palette_model_change_stays_in_the_session_until_saved(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        default = artifacts.current_version(home.artifacts)
        version = await app.retrain("popularity")
        await settle(app, pilot)
        assert app.engine.trained.name == "popularity" and app.engine.version == version
        assert artifacts.current_version(home.artifacts) == default, "a session choice is not saved"
        assert any("this session only" in text for _, _, text in app.notices)
        app.command_save_model()
        assert artifacts.current_version(home.artifacts) == version

    drive(make_app(home), body, (80, 24))


def test_the_learning_view_shows_progress_at_once(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, LearningScreen)
        progress = text_of(app, "#learning-progress")
        # At once: the total and the count so far (a fast machine may be past "preparing" already)
        walked = re.search(r"([\d,]+) / 3,000 events walked", progress)
        assert walked and int(walked[1].replace(",", "")) < 3000, progress
        assert "preparing" in progress or "replaying" in progress, progress
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)

    drive(make_app(home), body, (80, 24))


def test_preferences_keep_theme_and_last_user_across_launches(home):
    path = home.root / "preferences.json"

    async def first(app: RecsysApp, pilot) -> None:
        await app.login(42)
        app.theme = "textual-light"
        await pilot.pause()

    drive(make_app(home, preferences=True), first, (80, 24))
    saved = json.loads(path.read_text())
    assert saved == {"theme": "textual-light", "last_user": 42, "layout": "auto"}

    async def second(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        assert app.theme == "textual-light"
        table = app.screen.query_one("#login-table", UserTable)
        assert table.user_at(table.cursor_row) == 42

    drive(make_app(home, preferences=True), second, (80, 24))
    path.write_text("{not json")
    notices: list = []

    async def third(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        notices.extend(app.notices)

    drive(make_app(home, preferences=True), third, (80, 24))
    assert any(title == "preferences" and sev == "warning" for sev, title, _ in notices)


def test_without_a_terminal_the_app_points_to_the_demo_and_exits_2(home, tmp_path):
    out = tmp_path / "out"
    with open(out, "w") as stdout:
        proc = subprocess.run([sys.executable, "-m", "recsys_tui", "--home", str(home.root)],
                              stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "recsys-tui demo" in lines[0] and "Traceback" not in proc.stderr
    assert out.read_text() == ""


def test_an_unexpected_error_ends_the_app_with_one_line_and_rc_1(home):
    """A crash in a handler: no traceback is printed, ``crash`` holds one line, return code 1."""
    app = make_app(home)

    def boom() -> None:
        raise ValueError("a bug\nwith [/] markup and \x1b[2J an escape")

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        app.call_later(boom)  # runs in the app's own loop, like any handler
        while app.is_running:
            await pilot.pause()

    with pytest.raises(ValueError):  # run_test re-raises the app's error for test frameworks
        drive(app, body, (80, 24))
    assert app.return_code == 1 and app.crash.startswith("ValueError: a bug")
    assert "\n" not in app.crash and "\x1b" not in app.crash



def test_the_status_line_keeps_no_stale_text_after_an_index_change(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        app.command_index("hnsw")
        assert "building hnsw index" in text_of(app, "#status")
        await settle(app, pilot)  # the build ran (the worker finished, its list is shown)
        status = text_of(app, "#status")
        assert "index hnsw" in status and "building" not in status and "ERROR" not in status

    drive(make_app(home), body, (80, 24))


def test_engine_rate_is_a_no_op_for_the_same_value_and_replaces_a_different_one(home):
    from recsys_tui.core.engine import Engine

    engine = Engine.open(home)
    try:
        item = next(i for i in engine.catalogue.movies if engine.movie(i, 1).your_rating is None)
        n0 = logged(home)
        previous, result = engine.rate(1, item, 4)
        assert previous is None and result is not None and logged(home) == n0 + 1
        previous, result = engine.rate(1, item, 4)
        assert previous == 4 and result is None and logged(home) == n0 + 1
        previous, result = engine.rate(1, item, 2)
        assert previous == 4 and result.rating == 2 and engine.movie(item, 1).your_rating == 2
        assert logged(home) == n0 + 2
    finally:
        engine.close()


def test_rating_from_the_list_selects_the_movie_the_cursor_then_shows(home):
    """The rated movie leaves the recommendations; the cursor's new movie is what the next key rates
    and what the Movie pane shows (before, the pane and the keys stayed on the rated movie)."""

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        first = await app.select_recommendation(1)
        await app.rate(4)
        await settle(app, pilot)
        now = app.main.recs.selected_item()
        assert now is not None and now != first.item_id
        assert app.main.selected == now
        assert app.engine.movie(now).title in text_of(app, "#detail-text")
        second = await app.rate(5)
        assert second.item_id == now

    drive(make_app(home), body)


def test_a_word_typed_in_one_burst_reaches_the_search_box_whole(home):
    """"star wars" sent at once (tmux send-keys, a paste, fast typing) while the catalogue has the
    focus: every key, the space included, lands in the box in order, and no digit rates."""
    app = make_app(home)

    async def body(app: RecsysApp, pilot) -> None:
        await open_screen(app, pilot, "main")
        screen = app.screen
        table = screen.query_one("#catalogue-table")
        table.focus()
        await pilot.pause()
        before = footprint(app, home)
        # The race itself, deterministically: keys forwarded to the list before the first one
        # moved the focus reach the screen's handler with the box focused.
        for char in "star w":
            screen.on_key(events.Key("space" if char == " " else char, char))
        box = screen.query_one("#search", Input)
        assert box.value == "star w" and screen.focused is box
        await settle(app, pilot)
        assert app.focused is box
        # The same through the app's queue, as a terminal delivers a burst.
        table.focus()
        await pilot.pause()
        for char in "star wars 2":
            app.post_message(events.Key("space" if char == " " else char, char))
        await settle(app, pilot)
        assert app.focused is box and box.value == "star wars 2"
        assert footprint(app, home) == before, "a digit in a typed word rated a movie"

    drive(app, body, (80, 24))


def test_a_letter_typed_in_the_list_after_escape_starts_a_new_search(home):
    """Search "star", Escape back to the list, type "toy": the box says "toy" (a new search, as in
    k9s), not "startoy"; ``/`` instead keeps the text to edit it."""
    app = make_app(home)

    async def body(app: RecsysApp, pilot) -> None:
        await open_screen(app, pilot, "main")
        table = app.screen.query_one("#catalogue-table")
        table.focus()
        await pilot.press(*"star")
        await settle(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is table
        await pilot.press(*"toy")
        await settle(app, pilot)
        box = app.screen.query_one("#search", Input)
        assert box.value == "toy"
        assert 1 in catalogue_ids(app)  # Toy Story (1995) is ML-100K's item 1
        await pilot.press("escape", "slash", "s")
        await settle(app, pilot)
        assert box.value == "toys"

    drive(app, body, (80, 24))

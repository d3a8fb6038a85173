"""Pilot tests of the Textual app (``App.run_test``) at 80×24 and 120×40.

No sleeps: the app's pilot surface (``await app.rate(5)`` …) returns when the worker has run and
the pane is updated; key presses are followed by ``settle`` (workers done, messages handled).
pytest-asyncio is not a dependency, so each test runs its coroutine with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import csv
import shutil

import pytest
from recsys_tui.core import artifacts
from recsys_tui.core.home import Home
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.screens.help import LOGIN_MOVES, HelpScreen, help_sections
from recsys_tui.tui.screens.learning import LearningScreen
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen
from recsys_tui.tui.widgets.user_table import UserTable
from textual.widgets import DataTable

from recsys_tui.app_factory import make_app, make_services
from tests.tui_helpers import SIZES, catalogue_ids, drive, rec_rows, settle, text_of, unrated_movie

pytestmark = pytest.mark.tui
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_login_search_rate_and_undo(home, size):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#login-table", UserTable).row_count == 943
        recs = await app.login(1)
        assert isinstance(app.screen, MainScreen)
        assert len(recs.items) == 10 and recs.personal
        assert [i for i, _ in rec_rows(app)] == recs.item_ids
        assert "user 1" in text_of(app, "#status")

        rows = await app.search("star wars")
        assert [r.item_id for r in rows] == [50]
        assert catalogue_ids(app) == [50]

        item = await unrated_movie(app)
        movie = await app.select(item)
        assert movie.item_id == item and movie.your_rating is None
        result = await app.rate(5)
        assert result.kind == "rating" and result.rating == 5 and result.item_id == item
        assert item not in result.after.item_ids
        assert app.last_result is result and app.last_recs is result.after
        shown = rec_rows(app)
        assert [i for i, _ in shown] == result.after.item_ids
        labels = {c.item_id: c.label for c in result.changes if c.after is not None}
        assert [m for _, m in shown] == [labels[i] for i, _ in shown]
        out = [c for c in result.changes if c.after is None]
        out_line = text_of(app, "#recs-out")
        assert all(c.title in out_line for c in out) if out else out_line == "out: none"
        assert len(app.render_ms) == 1 and len(app.engine_ms) == 1
        assert app.engine_ms[0] == pytest.approx(result.timings.total_ms)
        steps = text_of(app, "#latency-steps")
        assert all(step in steps for step in ("valid", "log", "feat", "fold", "search", "rerank"))
        session = text_of(app, "#latency-session")
        last = next(line for line in session.splitlines() if line.startswith("last"))
        assert f"{result.timings.total_ms:.2f}" in last
        assert "key→pane" in session and "p50" in session and "p99" in session
        assert movie.title in text_of(app, "#profile-text")
        assert "★5" in text_of(app, "#detail-text")

        undone = await app.undo()
        assert undone.kind == "undo" and undone.item_id == item
        assert app.engine.movie(item, 1).your_rating is None
        assert "none yet" in text_of(app, "#profile-text")
        assert len(app.render_ms) == 2

    drive(make_app(home), body, size)


def test_keys_rate_click_search_and_quit_letters_in_search(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(2)
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "search"
        await pilot.press(*"toy q")  # letters in the search box are text, not keys
        await settle(app, pilot)
        assert app.is_running
        assert app.screen.query_one("#search").value == "toy q"
        await pilot.press(*["backspace"] * 2, "enter")
        await settle(app, pilot)
        assert app.focused is not None and app.focused.id == "catalogue-table"
        assert len(catalogue_ids(app)) >= 1
        first = catalogue_ids(app)[0]
        assert "Toy" in app.engine.catalogue.title(first)
        stars = 5 if app.engine.movie(first, 2).your_rating != 5 else 3  # a change either way
        await pilot.press(str(stars))
        await settle(app, pilot)
        assert app.last_result is not None and app.last_result.item_id == first
        assert app.last_result.rating == stars
        await pilot.press("enter")  # Enter on a movie: a view (click)
        await settle(app, pilot)
        assert app.last_result.kind == "click"
        await pilot.press("f3")
        await settle(app, pilot)
        assert "more like" in text_of(app, "#catalogue-filter")
        assert "more like this" in text_of(app, "#detail-text")
        await pilot.press("f5")
        await settle(app, pilot)
        assert "sorted by title" in text_of(app, "#catalogue-filter")
        await pilot.press("slash", *["backspace"] * 3, "enter", "f4")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "GenrePicker"
        # (all genres), Action, Adventure, Animation, Children's, Comedy
        await pilot.press(*["down"] * 5, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert "in Comedy" in text_of(app, "#catalogue-filter")
        assert len(catalogue_ids(app)) > 50
        assert all("Comedy" in app.engine.movie(i).genres for i in catalogue_ids(app))
        await pilot.press("tab")  # catalogue → recommendations
        assert app.focused is not None and app.focused.id == "recs-table"
        await pilot.press("down")
        await settle(app, pilot)
        second = app.last_recs.items[1]
        assert app.main.selected == second.item_id
        assert f"#{second.item_id}" in text_of(app, "#detail-text")

    drive(make_app(home), body, (120, 40))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_help_lists_every_binding(home, size):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app, "#help-text")
        ids = {row[2] for _, rows in help_sections() for row in rows}
        for binding in [*RecsysApp.BINDINGS, *MainScreen.BINDINGS, *LoginScreen.BINDINGS]:
            assert binding.id and binding.description, binding
            assert binding.id in ids or binding.action.startswith(("rate(", "nudge(")) \
                or binding.id in LOGIN_MOVES
        for human in ("Ctrl+P", "Ctrl+Z", "F3", "1 … 5", "Esc", "Catalogue and Recommendations"):
            assert human in text
        assert "main." not in text and "slash" not in text  # no binding ids, no key codes
        for meaning in ("Δ", "Score", "View (click)", "fold", "rerank", "key→pane"):
            assert meaning in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")  # F1 toggles
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and app.is_running

    drive(make_app(home), body, size)


def test_switch_user_with_f2_and_the_login_table(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await pilot.press("f2")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen)
        await pilot.press("escape")  # back without switching
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and app.user_id == 1
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press(*"programmer")  # type-to-search: the letters go to the filter box
        await pilot.pause()
        table = app.screen.query_one("#login-table", UserTable)
        first = table.user_at(0)
        assert first is not None and app.engine.user(first).occupation == "programmer"
        await pilot.press("enter")  # Enter in the filter box logs in as the highlighted match
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.user_id == first and f"user {first}" in text_of(app, "#status")
        assert app.last_recs is not None and app.last_recs.user_id == first
        recs = await app.login(7)
        assert recs.user_id == 7 and app.main.recs.recs.user_id == 7

    drive(make_app(home), body, (80, 24))


def test_new_user_cold_start(home):
    async def body(app: RecsysApp, pilot) -> None:
        recs = await app.login("new")
        assert app.user_id == 944 and not recs.personal
        assert "popular" in app.screen.query_one("#recs").border_title
        item = await unrated_movie(app, "star wars")
        await app.select(item)
        result = await app.rate(5)
        assert result.after.personal and item not in result.after.item_ids
        assert any(c.label == "new" for c in result.changes)
        assert "personal" in app.screen.query_one("#recs").border_title
        assert "user 944" in text_of(app, "#profile-text")
        undone = await app.undo()
        assert not undone.after.personal
        assert await app.undo() is None  # benign: information, not an error
        assert app.is_running and "ERROR" not in text_of(app, "#status")
        assert ("information", "no change", "Nothing to undo: no rating or click logged yet.") in app.notices
        assert not any(sev == "error" for sev, _, _ in app.notices) and app.errors == []

    drive(make_app(home), body, (80, 24))


def test_retrain_in_background_keeps_the_app_working(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        before = app.engine.version
        item = await unrated_movie(app)
        await app.select(item)
        app.main.start_retrain(None)  # what ctrl+r runs once confirmed
        assert "retraining" in text_of(app, "#status")
        result = await app.rate(4)  # the app keeps working while the model trains
        assert result.item_id == item and app.is_running
        for _ in range(5):
            if app.engine.version != before:
                break
            await settle(app, pilot)
        assert app.engine.version != before
        assert app.engine.version in text_of(app, "#status")
        assert "retraining" not in text_of(app, "#status")
        assert any(title == "retrained" for _, title, _ in app.notices)
        assert app.last_recs.model_version == app.engine.version
        version = await app.retrain("ease")  # "change model" from the command palette
        assert app.engine.trained.name == "ease" and app.engine.version == version
        assert "ease" in text_of(app, "#status")

    drive(make_app(home), body, (120, 40))


@pytest.mark.redis
@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_redis_failure_is_notified_and_the_app_keeps_running(home, redis_server, size):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        assert "store redis: ok" in text_of(app, "#status")
        item = await unrated_movie(app)
        await app.select(item)
        redis_server.kill()
        result = await app.rate(5)
        assert result.degraded and app.engine.degraded
        assert app.is_running and item not in result.after.item_ids
        assert "DEGRADED" in text_of(app, "#status")
        assert any(sev == "warning" and title == "degraded" for sev, title, _ in app.notices)
        again = await app.undo()
        assert again.kind == "undo" and app.is_running
        redis_server.start()  # comes back empty; the engine rebuilds it from the event log
        assert app.engine.reconnect() is None
        await app.select(item)
        back = await app.rate(3)
        assert back.degraded is None and "store redis: ok" in text_of(app, "#status")
        assert any(title == "recovered" for _, title, _ in app.notices)

    drive(make_app(home, redis_server.url), body, size)


def test_index_change_and_export_from_the_palette_targets(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(3)
        recs = await app.set_index("hnsw")
        assert app.engine.index.kind == "hnsw" and len(recs.items) == 10
        assert "index hnsw" in text_of(app, "#status")
        path = await app.export()
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert str(home.reports) in path and len(rows) == 10
        assert [int(r["item_id"]) for r in rows] == app.engine.recommend(3).item_ids

    drive(make_app(home), body, (80, 24))


def test_command_palette_changes_the_index(home):
    from textual.command import CommandList

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await pilot.press("ctrl+p", *"index")
        await settle(app, pilot)
        options = app.screen.query_one(CommandList)
        prompts = [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)]
        expected = [f"Change index type: {k}" for k in ("flat", "hnsw", "ivf")]
        assert [p.split("\n")[0] for p in prompts] == expected
        await pilot.press("down", "enter")  # the second one: hnsw
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.engine.index.kind == "hnsw" and "index hnsw" in text_of(app, "#status")

    drive(make_app(home), body, (120, 40))


def test_learning_view_draws_curves_without_blocking(home):
    from recsys_tui.training.replay import run_replay

    services = make_services(home)
    services.replay = lambda on_point: run_replay(home, ["popularity", "foldin"], limit=400, window=100,
                                                  on_point=on_point)

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        learning = asyncio.ensure_future(app.learning())
        await pilot.pause()
        assert isinstance(app.screen, LearningScreen)
        report = await learning
        screen = app.screen
        assert set(screen.curves) == {"popularity", "foldin"}
        assert len(screen.curves["foldin"]) >= 4
        table = screen.query_one("#learning-table", DataTable)
        assert table.row_count == 2 and report.events == 400
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)

    drive(RecsysApp(services), body, (80, 24))


def test_first_run_shows_setup_then_login_via_the_env_home(home, monkeypatch):
    shutil.rmtree(home.artifacts)
    monkeypatch.setenv("RECSYS_TUI_HOME", str(home.root))

    async def body(app: RecsysApp, pilot) -> None:
        await pilot.pause()
        assert type(app.screen).__name__ in ("SetupScreen", "LoginScreen")
        await app.wait_ready()
        assert isinstance(app.screen, LoginScreen)
        assert any(title == "ready" for _, title, _ in app.notices)
        recs = await app.login(1)
        assert len(recs.items) == 10

    drive(make_app(None), body, (80, 24))
    assert artifacts.current_version(Home.resolve().artifacts) is not None

"""Pilot tests of what runs beside the person: focusing the recommendations selects a movie, a
second retrain is refused, the learning view's replay stops on close, a failed start is reported
once, a version published by another process is loaded."""

from __future__ import annotations

import asyncio

import pytest
from recsys_tui.core import artifacts
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen

from recsys_tui.app_factory import make_app, make_services
from tests.tui_helpers import drive, settle, text_of, unrated_movie

pytestmark = pytest.mark.tui


def test_focusing_the_recommendations_selects_the_highlighted_movie(home):
    """Tab into the list, press 5: the movie under the cursor is rated, not the catalogue's."""
    async def body(app: RecsysApp, pilot) -> None:
        recs = await app.login(7)
        await settle(app, pilot)
        catalogue_first = app.main.catalogue.selected_item()
        assert catalogue_first is not None and catalogue_first != recs.items[0].item_id
        await pilot.press("tab")
        await settle(app, pilot)
        assert app.focused is not None and app.focused.id == "recs-table"
        assert app.main.selected == recs.items[0].item_id
        assert f"#{recs.items[0].item_id}" in text_of(app, "#detail-text")
        await pilot.press("5")
        await settle(app, pilot)
        assert app.last_result.item_id == recs.items[0].item_id and app.last_result.rating == 5
        await pilot.press("shift+tab")  # back to the catalogue: its highlighted row is selected again
        await settle(app, pilot)
        assert app.main.selected == app.main.catalogue.selected_item()

    drive(make_app(home), body, (120, 40))


def test_a_second_retrain_while_one_runs_is_refused(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        before = artifacts.versions(home.artifacts)
        app.main.start_retrain(None)  # what ctrl+r runs once confirmed
        app.main.start_retrain(None)
        assert any("already running" in text for _, _, text in app.notices)
        for _ in range(5):
            if app.engine.version not in before:
                break
            await settle(app, pilot)
        await settle(app, pilot)
        assert len(artifacts.versions(home.artifacts)) == len(before) + 1
        assert sum(title == "retrained" for _, title, _ in app.notices) == 1

    drive(make_app(home), body, (80, 24))


def test_closing_the_learning_view_stops_its_replay(home):
    from recsys_tui.training.replay import run_replay

    points: list[int] = []
    finished: list[bool] = []

    def replay(on_point):
        def counted(strategy: str, events: int, hr: float) -> None:
            points.append(events)
            on_point(strategy, events, hr)

        report = run_replay(home, ["popularity", "foldin"], limit=3000, window=50, on_point=counted)
        finished.append(True)  # only reached if the replay ran to its end
        return report

    services = make_services(home)
    services.replay = replay

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await pilot.press("f6")
        while not points:  # the replay is running and has drawn its first point
            await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)  # returns once the replay worker has ended
        assert isinstance(app.screen, MainScreen) and app.errors == []
        assert app.stop.join(60), "the replay thread noticed the closed view at its next point"
        assert finished == [], "the replay stopped at its next point instead of running to the end"
        assert points[-1] < 3000

    drive(RecsysApp(services), body, (80, 24))


def test_a_failed_start_is_reported_once_and_makes_run_app_fail(home):
    from recsys_tui.app_factory import startup_failure

    (home.artifacts / "CURRENT").write_text("v9999-missing\n")

    async def body(app: RecsysApp, pilot) -> None:
        for _ in range(600):  # bounded: 30 s of 50 ms pauses at most (settle would raise the failure)
            if app.errors:
                break
            await pilot.pause(0.05)
        await pilot.pause()
        assert app.engine is None and len(app.errors) == 1, app.errors
        assert isinstance(app.screen, LoginScreen) and app.is_running
        assert "cannot start" in text_of(app, "#login-count")  # said where the users would be

    app = make_app(home)
    drive(app, body, (80, 24))
    failure = startup_failure(app)
    assert failure is not None and "recsys-tui train" in failure


def test_palette_loads_a_version_published_by_another_process(home):
    """`recsys-tui train` in another terminal publishes; "Load newest model" swaps it in live."""
    from recsys_tui.training.pipeline import train

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(2)
        item = await unrated_movie(app)
        await app.select(item)
        await app.rate(5)  # an event before the swap must survive it
        before = app.engine.version
        published = await asyncio.to_thread(lambda: train(home, "als").version)
        assert app.engine.version == before  # nothing changes until asked
        version = await app.load_latest()
        assert version == published == app.engine.version != before
        assert app.last_recs.model_version == version and item not in app.last_recs.item_ids
        assert version in text_of(app, "#status")
        assert app.engine.movie(item, 2).your_rating == 5

    drive(make_app(home), body, (120, 40))

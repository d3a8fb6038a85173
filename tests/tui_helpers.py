"""Shared helpers of the app's pilot tests: run the app, wait for its workers, read its panes,
open a screen, and the footprint that typing must never change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from recsys_tui.core import artifacts
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.pilot import workers_idle
from recsys_tui.tui.screens.help import HelpScreen
from recsys_tui.tui.screens.learning import LearningScreen
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen
from recsys_tui.tui.screens.pickers import GenrePicker
from recsys_tui.tui.widgets.movie_table import MovieTable
from recsys_tui.tui.widgets.recs_table import RecsTable
from textual.widgets import Input, Static

from tests.events import logged

SIZES = [(80, 24), (120, 40)]
Body = Callable[[RecsysApp, object], Awaitable[None]]


def drive(app: RecsysApp, body: Body, size: tuple[int, int] = (80, 24)) -> None:
    """Run ``body(app, pilot)`` inside ``app.run_test`` and close the engine afterwards."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await body(app, pilot)

    try:
        asyncio.run(main())
    finally:
        if app.engine is not None:
            app.engine.close()


async def settle(app: RecsysApp, pilot) -> None:
    """Wait until every worker has finished and the messages they posted were handled."""
    for _ in range(3):
        await workers_idle(app)
        await pilot.pause()


def text_of(app: RecsysApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def rec_rows(app: RecsysApp) -> list[tuple[int, str]]:
    """(item id, change marker) of every row in the recommendation table.

    Rows are shown by position; the item is the one whose title the row shows.
    """
    table = app.screen.query_one("#recs-table", RecsTable)
    titles = {r.title: r.item_id for r in app.screen.recs.recs.items}
    return [(titles[row.title], row.change) for row in table.rows]


def catalogue_ids(app: RecsysApp) -> list[int]:
    """Item ids of every row of the (virtual) catalogue table, in display order."""
    return list(app.screen.query_one("#catalogue-table", MovieTable).order)


async def unrated_movie(app: RecsysApp, text: str = "") -> int:
    rows = await app.search(text)
    return next(r.item_id for r in rows if r.your_rating is None)


WORDS = ["star wars", "engineer", "quiz", "The Godfather", "rgnlsxmecupqv", "Toy Story"]
"""Ordinary words and titles, and every letter that used to be a key (typed markup such as ``[/]``
is tested in tests/test_tui_hostile.py)."""


def footprint(app: RecsysApp, home) -> tuple:
    """What typing must never change: events logged, versions published, users created."""
    return (logged(home), tuple(artifacts.versions(home.artifacts)),
            tuple(app.engine.log.registered_users()))


def focusables(app: RecsysApp) -> list:
    return [w for w in app.screen.query("*") if w.focusable]


async def type_words(app: RecsysApp, pilot, widget) -> None:
    for word in WORDS:
        widget.focus()
        await pilot.pause()
        await pilot.press(*word)
        await settle(app, pilot)
        for box in app.screen.query(Input):  # back to an empty search for the next word
            box.value = ""
        await settle(app, pilot)


async def open_screen(app: RecsysApp, pilot, name: str) -> type:
    """Log in and open ``name``; returns the screen class expected on top."""
    await app.wait_ready()
    if name == "login":
        return LoginScreen
    await app.login(1)
    await settle(app, pilot)
    keys = {"main": None, "help": "f1", "genre": "f4", "learning": "f6", "switch-user": "f2"}[name]
    if keys:
        await pilot.press(keys)
        if name == "learning":  # its replay runs for seconds: do not wait for it
            await pilot.pause()
        else:
            await settle(app, pilot)
    return {"main": MainScreen, "help": HelpScreen, "genre": GenrePicker, "learning": LearningScreen,
            "switch-user": LoginScreen}[name]

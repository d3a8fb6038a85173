"""The login screen in a person's hands: Enter in the filter box logs in, the arrows move the
table from the box, and a table of 162k users is virtual (only visible lines are drawn)."""

from __future__ import annotations

import asyncio

import pytest
from recsys_tui.core.results import UserSummary
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen
from recsys_tui.tui.widgets.user_table import UserTable
from textual.app import App, ComposeResult
from textual.widgets import Input

from recsys_tui.app_factory import make_app
from tests.tui_helpers import drive, settle

pytestmark = pytest.mark.tui


def test_enter_in_the_filter_box_logs_in_as_the_highlighted_match(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        await pilot.press(*"writer")  # type-to-search: the letters go to the filter box
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LoginScreen) and app.focused is screen.query_one("#login-search")
        first = screen.table.user_at(0)
        assert first is not None and app.engine.user(first).occupation == "writer"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and app.user_id == first

    drive(make_app(home), body, (80, 24))


def test_arrows_in_the_filter_box_move_the_table_and_enter_takes_that_user(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        await pilot.press("slash", *"engineer")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        third = screen.table.user_at(2)
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.focused is screen.query_one("#login-search", Input)  # the box keeps the focus
        assert screen.table.cursor_row == 2
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and app.user_id == third

    drive(make_app(home), body, (80, 24))


def test_enter_with_no_match_says_so_and_stays(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        await pilot.press(*"nosuchjob")
        await pilot.pause()
        assert app.screen.table.row_count == 0
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, LoginScreen) and app.user_id is None
        assert any("No user matches" in text for _, _, text in app.notices)

    drive(make_app(home), body, (80, 24))


class Counting(UserTable):
    """Counts the lines it formats."""

    drawn = 0

    def render_line(self, y: int):
        Counting.drawn += 1
        return super().render_line(y)


class OneTable(App):
    def compose(self) -> ComposeResult:
        yield Counting(id="t")


def test_a_login_table_of_162k_users_draws_only_the_visible_lines():
    users = [UserSummary(u, 20 + u % 50, "F" if u % 2 else "M", "writer", 20 + u % 300, ("Drama",))
             for u in range(1, 162_542)]

    async def main() -> None:
        app = OneTable()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(Counting)
            Counting.drawn = 0
            table.set_users(users)
            await pilot.pause()
            assert 0 < Counting.drawn <= 3 * 24  # a frame or so of lines, not 162k rows
            table.focus()
            await pilot.press("end")
            await pilot.pause()
            assert table.cursor_row == len(users) - 1 and table.cells_at(table.cursor_row)[0] == "162541"
            lines = [table.render_line(y).text for y in range(table.size.height)]
            assert any(line.lstrip().startswith("162541") for line in lines)  # the end is on screen

    asyncio.run(main())


def test_start_up_turns_the_collector_back_on_once_the_table_is_filled(home):
    """``launch`` turns the collector off for start-up; the app turns it on (and freezes the
    start-up heap) as soon as the filled login table has been drawn."""
    import gc

    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        await settle(app, pilot)
        assert gc.isenabled() and gc.get_freeze_count() > 0
        assert app.screen.query_one("#login-count").render().plain == "943 users"

    gc.disable()
    try:
        drive(make_app(home), body, (80, 24))
    finally:
        gc.enable()

"""The footer keeps its important keys on screen at 80 columns; wider, every key shows."""

from __future__ import annotations

import pytest
from recsys_tui.tui.app import RecsysApp
from textual.widgets._footer import FooterKey

from recsys_tui.app_factory import make_app
from tests.tui_helpers import drive, settle

pytestmark = pytest.mark.tui
IMPORTANT = {"Rate", "Help", "Search", "Similar", "Undo", "User", "Quit"}
EVERY = IMPORTANT | {"Genre", "Sort", "Learn", "Export", "Retrain"}


def footer_keys(app: RecsysApp) -> dict[str, int]:
    """Description → right edge (cells) of each key the footer shows."""
    return {key.description: key.region.right for key in app.screen.query(FooterKey) if key.display}


@pytest.mark.parametrize(("size", "wanted"), [((80, 24), IMPORTANT), ((120, 40), EVERY)],
                         ids=["80x24", "120x40"])
def test_the_footer_fits_its_important_keys(home, size, wanted):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await settle(app, pilot)
        shown = footer_keys(app)
        assert set(shown) >= wanted, f"missing {wanted - set(shown)}"
        assert all(right <= size[0] for right in shown.values()), shown

    drive(make_app(home), body, size)


def test_a_narrowed_terminal_moves_keys_out_of_the_footer_and_they_still_work(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await settle(app, pilot)
        assert "Sort" in footer_keys(app)
        await pilot.resize_terminal(80, 24)
        await settle(app, pilot)
        shown = footer_keys(app)
        assert set(shown) >= IMPORTANT and "Sort" not in shown
        assert all(right <= 80 for right in shown.values()), shown
        before = app.screen.catalogue.sort_column
        await pilot.press("f5")  # hidden from the footer, still a key
        await settle(app, pilot)
        assert app.screen.catalogue.sort_column != before

    drive(make_app(home), body, (120, 40))


def test_the_footer_is_rebuilt_only_when_its_keys_change(home):
    """A focus call that leaves the keys as they are (a list → the other list, the same list
    again) keeps the footer's widgets: Textual's Footer rebuilt them, with a layout pass, in the
    middle of a rating."""

    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        await settle(app, pilot)
        before = {id(k) for k in app.screen.query(FooterKey)}
        app.screen.recs.table.focus()
        await settle(app, pilot)
        app.screen.catalogue.table.focus()
        await settle(app, pilot)
        app.screen.catalogue.table.focus()
        await settle(app, pilot)
        assert {id(k) for k in app.screen.query(FooterKey)} == before
        app.screen.query_one("#search").focus()  # the list keys go: the footer changes
        await settle(app, pilot)
        after = footer_keys(app)
        assert "Rate" not in after and {id(k) for k in app.screen.query(FooterKey)} != before

    drive(make_app(home), body, (120, 40))

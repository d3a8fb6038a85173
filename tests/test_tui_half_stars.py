"""Half stars in the app: on a data set rated in halves (ML-10M and later, or a synthetic twin)
+ and - move the highlighted movie's rating by half a star; ML-100K stays whole stars."""

from __future__ import annotations

from pathlib import Path

import pytest
from recsys_tui.core.home import Home
from recsys_tui.tui.app import RecsysApp
from textual.widgets import Input

from recsys_tui.app_factory import make_app
from recsys_tui.cli import main
from tests.test_tui_footer import IMPORTANT, footer_keys
from tests.tui_helpers import drive, settle

pytestmark = pytest.mark.tui


@pytest.fixture(scope="module")
def half_home(tmp_path_factory) -> Path:
    """A home holding a small synthetic ML-25M-shaped set (half stars) with a trained model."""
    root = tmp_path_factory.mktemp("half-home")
    assert main(["--home", str(root), "data", "synth", "--like", "ml-25m", "--scale", "0.002",
                 "--name", "syn"]) == 0
    assert main(["--home", str(root), "--dataset", "syn", "train", "--factors", "16",
                 "-p", "iterations=5"]) == 0
    return root


def rating_of(app: RecsysApp, item: int) -> float | None:
    return app.engine.movie(item, app.user_id).your_rating


@pytest.mark.slow  # the module fixture makes and trains a data set
def test_plus_and_minus_rate_in_half_stars(half_home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        assert app.engine.half_stars
        user = app.screen.table.user_at(0)
        await app.login(user)
        rows = await app.search("")
        item = next(r.item_id for r in rows if r.your_rating is None)
        await app.select(item)
        await pilot.press("minus")  # not rated yet: nothing to move, a quiet notice
        await settle(app, pilot)
        assert rating_of(app, item) is None and "not rated yet" in app.notices[-1][2]
        await pilot.press("4", "minus")
        await settle(app, pilot)
        assert rating_of(app, item) == 3.5
        assert app.last_result is not None and app.last_result.rating == 3.5
        assert "re-rated ★4→★3.5" in str(app.screen.recs.border_title)
        assert "★3.5" in str(app.screen.query_one("#detail-text").render())
        table = app.screen.catalogue.table
        line = table.render_line(table.cursor_row - int(table.scroll_y) + 1).text
        assert "★3.5" in line and "★3…" not in line  # the You column grows: never cut
        await pilot.press("plus", "plus", "equals_sign")  # = is + without shift
        await settle(app, pilot)
        assert rating_of(app, item) == 5.0
        await pilot.press("plus")  # the top of the scale: nothing changes
        await settle(app, pilot)
        assert rating_of(app, item) == 5.0 and "end of the scale" in app.notices[-1][2]
        await pilot.press("1", *["minus"] * 2)
        await settle(app, pilot)
        assert rating_of(app, item) == 0.5
        assert app.focused is not None and app.focused.id == "catalogue-table"  # no search started

    drive(make_app(Home(half_home, "syn")), body, (80, 24))


@pytest.mark.slow
def test_the_footer_shows_half_stars_at_80_columns(half_home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        await app.login(app.screen.table.user_at(0))
        await settle(app, pilot)
        shown = footer_keys(app)
        assert set(shown) >= IMPORTANT | {"½★"}, shown
        assert all(right <= 80 for right in shown.values()), shown

    drive(make_app(Home(half_home, "syn")), body, (80, 24))


def test_whole_star_sets_keep_minus_as_search_text(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(1)
        rows = await app.search("")
        item = next(r.item_id for r in rows if r.your_rating is None)
        await app.select(item)
        await pilot.press("4", "minus")
        await settle(app, pilot)
        assert rating_of(app, item) == 4
        box = app.screen.query_one("#search", Input)
        assert app.focused is box and box.value == "-"  # type-to-search, not a half star
        assert "½★" not in footer_keys(app)

    drive(make_app(home), body, (80, 24))

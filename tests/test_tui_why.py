"""The "why" and the numbers in the app (issue 13): reasons, explanations, true numbers, safe text.

Pilot tests at 80×24 and 120×40 read what is on screen (the rendered terminal lines), not only the
widgets' data, and compare it with the CLI (`recommend`, `history`, `status`) on the same home.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import re

import pytest
from recsys_tui.core.engine import open_engine
from recsys_tui.core.reasons import top_shares
from recsys_tui.core.results import score_text
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.screens.login import LoginScreen
from recsys_tui.tui.screens.main import MainScreen
from recsys_tui.tui.widgets.detail import bar
from recsys_tui.tui.widgets.latency import ms
from recsys_tui.tui.widgets.movie_table import MovieTable
from recsys_tui.tui.widgets.recs_table import RecsTable
from recsys_tui.tui.widgets.user_table import UserTable
from rich.console import Console
from textual.widgets import Static

from recsys_tui.app_factory import make_app
from recsys_tui.cli import main
from tests.tui_helpers import drive, settle

pytestmark = pytest.mark.tui
SIZES = [(80, 24), (120, 40)]


def screen_lines(app: RecsysApp) -> list[str]:
    """The terminal as a person sees it: one string per screen line."""
    console = Console(width=app.size.width, file=io.StringIO(), color_system=None, legacy_windows=False)
    with console.capture() as capture:
        console.print(app.screen._compositor.render_update(full=True))
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", capture.get())
    return text.splitlines()[-app.size.height:]


def static_text(app: RecsysApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


# -- pure helpers ---------------------------------------------------------------------------------

def test_score_text_keeps_ties_apart_and_never_cuts():
    assert score_text(17.2345) != score_text(17.2311)  # the hybrid showed both as "17"
    assert score_text(0.812345) == "0.8123" and score_text(583.0) == "583"
    assert score_text(-0.01234) == "-0.0123" and score_text(1234.56) == "1234.6"


def test_top_shares_are_the_largest_positive_terms():
    import numpy as np

    contrib = np.array([[3.0, -1.0], [1.0, -2.0], [-5.0, -0.5]])
    shares = top_shares(contrib, 3)
    assert shares[0] == [(0, 0.75), (1, 0.25)] and shares[1] == []


def _shares_by_stable_sort(x, n: int):
    """The reference ``largest_shares`` is checked against: a stable sort of the positive parts."""
    import numpy as np

    pos = np.where(x > 0, x, 0.0)
    rows = np.argsort(-pos, axis=0, kind="stable")[:min(n, x.shape[0])]
    terms = np.take_along_axis(pos, rows, axis=0)
    totals = pos.sum(axis=0)
    shares = np.divide(terms, totals, out=np.zeros_like(terms), where=totals > 0)
    rows[terms <= 0] = -1
    return rows, shares


def test_largest_shares_equal_a_stable_sort_of_each_column_ties_included():
    """The partial selection gives what sorting each whole column would, on long columns with
    many equal terms (whole-number terms) as well as distinct ones."""
    import numpy as np
    from recsys_tui.core.reasons import largest_shares

    rng = np.random.default_rng(7)
    for t in range(3000):
        shape = (int(rng.integers(0, 60)), int(rng.integers(1, 11)))
        x = rng.integers(-2, 3, size=shape).astype(float) if t % 2 else rng.normal(size=shape)
        n = int(rng.integers(1, 6))
        rows, shares = _shares_by_stable_sort(x, n)
        got_rows, got_shares = largest_shares(x, n)
        assert np.array_equal(got_rows, rows) and np.array_equal(got_shares, shares), (t, x, n)


def test_largest_shares_of_long_histories_equal_a_stable_sort_signed_zeros_and_nan_included():
    """Columns as long as a heavy user's history (the hot path's reasons at 25M), with exact ties,
    negative terms, -0.0 (a dislike's term: a product with confidence 0) and NaN, which the
    positive part counts as 0 as ``where(x > 0, x, 0)`` does."""
    import numpy as np
    from recsys_tui.core.reasons import largest_shares

    rng = np.random.default_rng(8)
    for t in range(300):
        shape = (int(rng.integers(1, 3000)), int(rng.integers(1, 11)))
        x = rng.integers(-3, 4, size=shape).astype(float) if t % 3 == 0 else rng.normal(size=shape)
        x[rng.random(shape) < 0.1] = -0.0
        if t % 7 == 0:
            x[rng.random(shape) < 0.01] = np.nan
        n = int(rng.integers(1, 6))
        rows, shares = _shares_by_stable_sort(x, n)
        got_rows, got_shares = largest_shares(x, n)
        assert np.array_equal(got_rows, rows) and np.array_equal(got_shares, shares), t
        assert not np.signbit(got_shares).any(), t


def test_latency_numbers_have_fixed_width_to_9999():
    assert len(ms(9999.99)) == len(ms(0.01)) == 7 and ms(None).strip() == "-"
    assert bar(1.0) == "█████" and bar(0.0).strip() == "" and len(bar(0.37)) == 5


# -- the app ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_every_row_and_its_reason_is_readable(home, size):
    """All ten rows show; moving through the list, the Movie pane explains each one."""
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(36)
        await app.select(1)
        result = await app.rate(5)
        await settle(app, pilot)
        lines = "\n".join(screen_lines(app))
        for rec in result.after.items:
            assert rec.title[:12] in lines, rec.title  # all ten rows visible
        assert re.search(r"p99 +\d+\.\d\d +\d+\.\d\d", lines)  # p99 on screen, in its columns
        assert re.search(r"search +\d+\.\d\d rerank +\d+\.\d\d", lines)  # labels never touch values
        app.screen.query_one("#recs-table", RecsTable).focus()
        await settle(app, pilot)
        named = set()
        for n, rec in enumerate(result.after.items):
            if n:
                await pilot.press("down")
                await settle(app, pilot)
            assert app.main.selected == rec.item_id
            detail = static_text(app, "#detail-text")
            assert f"#{rec.rank} of 10 · score {score_text(rec.score)}" in detail
            assert "ALS" in detail  # what a score means for this model
            assert len(rec.because) >= 2  # several contributors, not one
            for c in rec.because:
                assert f"{c.share:.0%}" in detail and c.title in detail
            assert bar(rec.because[0].share) in detail
            named |= {c.item_id for c in rec.because}
            shown = "\n".join(screen_lines(app))
            assert rec.because[0].title[:10] in shown  # the explanation is on screen
        assert len(named) > 2  # one new rating does not make every reason name that movie alone
        assert all(r.reason.count("★") >= 2 for r in result.after.items)

    drive(make_app(home), body, size)


def test_cold_start_list_says_popular_now(home):
    async def body(app: RecsysApp, pilot) -> None:
        recs = await app.login("new")
        assert not recs.personal
        assert "popular now" in app.screen.query_one("#recs").border_title
        app.screen.query_one("#recs-table", RecsTable).focus()
        await settle(app, pilot)
        detail = static_text(app, "#detail-text")
        assert "#1 of 10" in detail and "popular now" in detail

    drive(make_app(home), body, (80, 24))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_catalogue_shows_every_movie_with_true_numbers(home, size):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(36)
        await app.search("")
        await settle(app, pilot)  # the screen lines below are read after the repaint
        table = app.screen.query_one("#catalogue-table", MovieTable)
        assert table.row_count == 1682
        assert "1,682 movies" in static_text(app, "#catalogue-filter")
        lines = screen_lines(app)
        star_wars = next(line for line in lines if "Star Wars" in line)
        assert " 583 " in star_wars  # three digits, never "58"
        app.main.catalogue.sort_by("avg")  # every movie, not the first 200
        await settle(app, pilot)
        best = max(app.engine.search("", None, 36, None), key=lambda r: (r.avg_rating, -r.item_id))
        assert app.engine.movie(table.order[0]).avg_rating == best.avg_rating
        label = static_text(app, "#catalogue-filter")
        assert "sorted by avg ↓" in label
        assert "sorted by avg ↓" in "\n".join(screen_lines(app))  # the label fits on screen
        table.focus()
        await pilot.press("end")
        await settle(app, pilot)
        assert app.main.selected == table.order[-1]

    drive(make_app(home), body, size)


def test_sort_by_yours_puts_unrated_last_both_ways(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(36)
        await app.search("")
        pane = app.main.catalogue
        rated = {r.item_id for r in app.engine.search("", None, 36, None) if r.your_rating is not None}
        assert 0 < len(rated) < 1682
        for _ in range(2):  # ↓ then ↑
            pane.sort_by("yours")
            head = pane.order[:len(rated)]
            assert set(head) == rated
            values = [pane.rows[i].your_rating for i in head]
            assert values == sorted(values, reverse=pane.sort_reverse)
        assert not pane.sort_reverse

    drive(make_app(home), body, (120, 40))


def test_login_id_jump_counts_and_plurals(home):
    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        screen.query_one("#login-search").focus()
        await pilot.press("3", "6")
        await settle(app, pilot)
        table = screen.query_one("#login-table", UserTable)
        assert table.cursor_row == 0 and table.cells_at(0)[0] == "36"
        assert table.cells_at(0)[4] == "21"  # 20 MovieLens ratings + 1 given here
        await pilot.press("enter")  # log in as the highlighted user, from the filter box
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen) and app.user_id == 36
        profile = static_text(app, "#profile-text")
        assert "here: 1 rating" in profile and "1 ratings" not in profile

    engine = open_engine(home.root)
    try:
        engine.record(36, 1, "rating", 5)  # a rating given in the app earlier
    finally:
        engine.close()
    drive(make_app(home), body, (80, 24))


def test_numbers_on_screen_match_the_cli(home, capsys):
    async def body(app: RecsysApp, pilot) -> None:
        await app.login(36)
        await app.select(50)
        await app.rate(4)
        await settle(app, pilot)
        table = app.screen.query_one("#recs-table", RecsTable)
        shown = [(row.title, row.score) for row in table.rows]
        screen["recs"] = shown
        screen["profile"] = static_text(app, "#profile-text")
        screen["status"] = static_text(app, "#status")
        app.screen.query_one("#recs-table", RecsTable).focus()
        await settle(app, pilot)
        screen["detail"] = static_text(app, "#detail-text")

    screen: dict = {}
    drive(make_app(home), body, (120, 40))
    capsys.readouterr()
    assert main(["--home", str(home.root), "recommend", "--user", "36", "-f", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert [title for title, _ in screen["recs"]] == [r["title"] for r in cli]
    for (_, score), row in zip(screen["recs"], cli, strict=True):
        assert float(score) == pytest.approx(row["score"], abs=1e-4)  # same number, shown precision
        assert score == score_text(row["score"]) or abs(float(score) - row["score"]) < 1e-4
    assert cli[0]["reason"].removeprefix("because you rated ").split(" ★")[0] in screen["detail"]
    assert main(["--home", str(home.root), "history", "--user", "36", "-f", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    n = sum(h["kind"] == "rating" for h in history)
    assert f"here: {n} rating" in screen["profile"]
    assert main(["--home", str(home.root), "status"]) == 0
    status = capsys.readouterr().out
    version = re.search(r"model_version: (\S+)", status).group(1)
    assert version in screen["status"]


def test_a_hostile_title_is_shown_not_obeyed(home):
    hostile = ("\x1b]52;c;QUFB\x07[bold red]Evil[/] [@click=app.quit]click[/] "
               "[link=file:///etc/passwd]x[/link]")

    async def body(app: RecsysApp, pilot) -> None:
        await app.wait_ready()
        movies = app.engine.catalogue.movies
        movies[50] = dataclasses.replace(movies[50], title=hostile)
        await app.login(36)
        rows = await app.search("star wars")
        assert [r.item_id for r in rows] == [50]
        await app.select(50)
        await app.rate(5)
        await settle(app, pilot)
        lines = "\n".join(screen_lines(app))
        assert "[bold red]Evil[/]" in lines and "[@click=app.quit]" in lines  # shown as typed
        bad = [line for line in lines.splitlines() if "\x1b]52" in line]
        assert not bad and "␛]52" in lines, bad  # the escape is a visible placeholder
        assert hostile.replace("\x1b", "␛").replace("\x07", "␇") in static_text(app, "#detail-text")
        assert app.is_running

    drive(make_app(home), body, (120, 40))


def test_the_catalogue_table_draws_only_visible_rows_of_60k():
    """A catalogue of 60,000 movies: swapping in every row is one list, drawing touches a screenful."""
    from recsys_tui.core.results import MovieRow
    from recsys_tui.tui.widgets.movie_rows import MovieRows
    from textual.app import App

    rows = [MovieRow(i, f"Movie {i}", 1990 + i % 30, ("Drama",), 3.5, 100_000 - i)
            for i in range(1, 60_001)]

    class One(App):
        def compose(self):
            yield MovieTable(id="t")

    async def run() -> None:
        app = One()
        async with app.run_test(size=(80, 24)) as pilot:
            table = app.query_one(MovieTable)
            table.set_rows(MovieRows(rows))
            table.focus()
            await pilot.pause()
            assert table.row_count == 60_000
            assert 0 < len(table._strips) <= 24  # only the visible rows were drawn
            await pilot.press("end")
            await pilot.pause()
            assert table.item_at(table.cursor_row) == 60_000 and len(table._strips) <= 48
            line = "\n".join(screen_lines(app))
            assert "Movie 60000" in line and "40001" in line  # the 5-digit count is not cut

    asyncio.run(run())

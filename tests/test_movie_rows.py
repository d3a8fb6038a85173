"""The catalogue table's rows (``MovieRows``) answer as the dict + id list they replace did, and the
engine's search list carries its true largest count and the user's ratings among its rows."""

from __future__ import annotations

import pytest
from recsys_tui.core.catalogue import Catalogue
from recsys_tui.core.results import MovieRow, MovieRowList
from recsys_tui.data.cache import load_cache
from recsys_tui.tui.widgets.movie_rows import SORT_KEYS, MovieRows


def row(item: int, title: str, year: int | None, n: int, yours: float | None = None) -> MovieRow:
    return MovieRow(item, title, year, ("Drama",) if item % 2 else ("Comedy", "Drama"), 3.0 + item % 3 / 2,
                    n, yours)


ROWS = [row(5, "b", 1990, 10), row(3, "A", None, 700, 4.0), row(9, "c", 1980, 10, 3.5),
        row(1, "a", 1990, 2), row(7, "Z", 2001, 10)]


def reference_sorted(rows: list[MovieRow], column: str, reverse: bool) -> list[int]:
    """The definition: rows with a value by that value (stable), then the rest in their order."""
    key = SORT_KEYS[column]
    have = sorted((r for r in rows if key(r) is not None), key=key, reverse=reverse)
    return [r.item_id for r in have] + [r.item_id for r in rows if key(r) is None]


def test_rows_read_by_position_and_by_id():
    rows = MovieRows(list(ROWS))
    assert list(rows.ids) == [5, 3, 9, 1, 7] == list(rows)
    assert rows.ids[1] == 3 and rows.ids[1:3] == [3, 9] and len(rows.ids) == 5
    assert rows.ids.index(1) == 3 and 9 in rows.ids and 4 not in rows.ids
    with pytest.raises(ValueError):
        rows.ids.index(4)
    assert rows[9] is ROWS[2] and rows.get(4) is None and 4 not in rows and 7 in rows
    assert rows.position(7) == 4 and rows.position(4) is None and rows.position("7") is None
    assert rows.max_count == 700 and rows.rated == {4.0, 3.5}
    assert MovieRows([]).max_count == 0 and not MovieRows([]).rated


def test_put_replaces_in_place_and_widens():
    rows = MovieRows(list(ROWS))
    assert not rows.put(row(4, "x", 1990, 99_999, 2.5))  # not shown: nothing changes
    assert rows.max_count == 700 and 4 not in rows
    assert rows.put(row(1, "a", 1990, 5000, 0.5))
    assert rows[1].your_rating == 0.5 and rows.at(3).n_ratings == 5000
    assert rows.max_count == 5000 and rows.rated == {4.0, 3.5, 0.5}


@pytest.mark.parametrize("column", sorted(SORT_KEYS))
@pytest.mark.parametrize("reverse", [False, True])
def test_sorted_equals_the_definition(column, reverse):
    rows = MovieRows(list(ROWS))
    got = rows.sorted(column, reverse)
    assert list(got.ids) == reference_sorted(ROWS, column, reverse)
    assert got.max_count == rows.max_count and got.rated == rows.rated
    assert list(rows.ids) == [5, 3, 9, 1, 7]  # the original order is untouched


def test_search_list_carries_its_widths(ml100k_data):
    cat = Catalogue(load_cache(ml100k_data))
    ratings = {50: 5.0, 181: 3.5, 1: 2.0}
    for text, limit in [("", None), ("star", None), ("star", 3), ("zzzz", None), ("", 10)]:
        got = cat.search(text, None, limit, ratings)
        assert isinstance(got, MovieRowList)
        assert got.max_count == max((r.n_ratings for r in got), default=0)
        assert got.rated == {r.your_rating for r in got if r.your_rating is not None}
        assert got.rated <= set(ratings.values())
        shown = MovieRows.of(got)
        assert shown.list is got and shown.max_count == got.max_count
    assert cat.search("star wars", None, None, ratings).rated == {5.0}  # Star Wars (1977) is 50

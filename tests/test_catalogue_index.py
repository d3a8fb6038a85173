"""The catalogue's indexed search and vectorised user summaries give exactly what the plain
definitions give (one title at a time, one user at a time), on ML-100K and on nasty titles."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.core.catalogue import Catalogue, _norm
from recsys_tui.data.cache import load_cache
from recsys_tui.data.movielens import Dataset, Interactions, Movie, UserInfo
from recsys_tui.data.summary import ids_and_counts


def reference_search(cat: Catalogue, text: str, genre: str | None, limit: int | None) -> list[int]:
    """The definition: every word in the normalised title, starters of the first word first, then
    most rated, then lowest id."""
    words = _norm(text).split()
    rows = []
    for n, item in enumerate(cat.item_ids.tolist()):
        hay = _norm(cat.title(item))
        if genre and genre not in cat.movies[item].genres:
            continue
        if all(w in hay for w in words):
            starts = bool(words) and hay.startswith(words[0])
            rows.append((not starts, -int(cat.n_ratings[n]), item))
    rows.sort()
    ids = [r[2] for r in rows]
    return ids if limit is None else ids[:limit]


def reference_top_genres(cat: Catalogue, inter: Interactions, user_id: int) -> tuple[str, ...]:
    counts = dict.fromkeys(cat.genres, 0)
    for item, rating in zip(inter.item_ids[inter.user_ids == user_id].tolist(),
                            inter.ratings[inter.user_ids == user_id].tolist(), strict=True):
        if rating >= 4 and item in cat.movies:
            for g in cat.movies[item].genres:
                counts[g] += 1
    order = sorted(range(len(cat.genres)), key=lambda g: (-counts[cat.genres[g]], g))[:3]
    return tuple(cat.genres[g] for g in order if counts[cat.genres[g]] > 0)


@pytest.fixture(scope="module")
def ml100k(ml100k_data) -> Dataset:
    return load_cache(ml100k_data)


@pytest.fixture(scope="module")
def ml100k_catalogue(ml100k) -> Catalogue:
    return Catalogue(ml100k)


QUERIES = ["", "star", "star wars", "wars star", "s", "the", "1977", "19", "(1995)", "a e",
           "zzzz", "l'", "return of the", "THE GODFATHER", "  man  ", "é"]


@pytest.mark.parametrize("genre", [None, "Comedy", "Film-Noir"])
def test_search_equals_the_definition_on_ml100k(ml100k_catalogue, genre):
    cat = ml100k_catalogue
    for text in QUERIES:
        for limit in (None, 200, 5):
            got = [r.item_id for r in cat.search(text, genre, limit)]
            assert got == reference_search(cat, text, genre, limit), (text, genre, limit)


def _nasty() -> Dataset:
    titles = ["Ab", "ab ab", "Über Café", "Cafe", "x::y", 'Say "Hi", Ma', "ABBA: the movie",
              "b", "Aa", "Star Wars", "Wars of the Star", "s", "", "Ǆemal"]
    movies = {10 * (n + 1): Movie(10 * (n + 1), t, 1990 + n % 3 if n % 2 else None,
                                  ("Drama",) if n % 3 else ("Comedy", "Drama"))
              for n, t in enumerate(titles)}
    rng = np.random.default_rng(3)
    items = rng.choice(list(movies), 300)
    users = rng.integers(1, 40, 300)
    inter = Interactions.from_arrays(users, items, rng.integers(1, 6, 300), np.arange(300))
    people = {u: UserInfo(u, 30, "", "", "") for u in range(1, 45)}
    return Dataset(inter, movies, people)


def test_search_equals_the_definition_on_nasty_titles():
    cat = Catalogue(_nasty())
    for text in ["a", "ab", "b", "über", "cafe", "café", "x", "y", "hi ma", "ma hi", "abba the",
                 "star", "wars star", "s", "1991", "ǆ", "", "no"]:
        for genre in (None, "Comedy"):
            got = [r.item_id for r in cat.search(text, genre, None)]
            assert got == reference_search(cat, text, genre, None), (text, genre)


def test_user_summaries_equal_one_user_at_a_time(ml100k, ml100k_catalogue):
    cat, inter = ml100k_catalogue, ml100k.interactions
    users = sorted(cat.users)
    bulk = cat.user_summaries(users)
    assert bulk == [cat.user_summary(u) for u in users]
    for row in bulk[:60]:
        assert row.top_genres == reference_top_genres(cat, inter, row.user_id)
        assert row.n_ratings == int((inter.user_ids == row.user_id).sum())
    unknown = cat.user_summaries([10_000, 10_001], new=True)
    assert [(u.n_ratings, u.top_genres, u.occupation, u.new) for u in unknown] == \
        [(0, (), "new user", True)] * 2


def test_summaries_of_users_without_a_table_row_or_ratings():
    data = _nasty()
    cat = Catalogue(data)
    ids = [1, 2, 40, 44, 99]  # 40–44 have a table row but no ratings; 99 has neither
    assert cat.user_summaries(ids) == [cat.user_summary(u) for u in ids]
    for u in ids:
        assert cat.user_summary(u).top_genres == reference_top_genres(cat, data.interactions, u)


@pytest.mark.parametrize("raw", [[], [5, 5, 1, 0], [3, 10**12, 3], [-4, 2, -4]])
def test_ids_and_counts_equal_unique(raw):
    ids, counts = ids_and_counts(np.asarray(raw, np.int64))
    want_ids, want_counts = np.unique(np.asarray(raw, np.int64), return_counts=True)
    assert ids.tolist() == want_ids.tolist() and counts.tolist() == want_counts.tolist()


def test_rows_carry_the_users_ratings_and_searches_share_nothing_else(ml100k_catalogue):
    cat = ml100k_catalogue
    mine = {50: 4.5, 181: 1.0}
    rows = cat.search("star wars", ratings=mine, limit=None)
    assert {r.item_id: r.your_rating for r in rows if r.item_id in mine} == {50: 4.5}
    assert all(r.your_rating is None for r in rows if r.item_id not in mine)
    again = cat.search("star wars", limit=None)
    assert all(r.your_rating is None for r in again)  # the rated copy did not leak
    assert [r.item_id for r in again] == [r.item_id for r in rows]
    assert again[0] == cat.row(again[0].item_id)

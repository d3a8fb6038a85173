"""The movie and user tables' columns (``tables.npz``) load exactly what the JSON tables load,
cleaned the same way, and a stale, damaged or malformed columns file is never used."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.common.fsutil import load_npz, save_npz
from recsys_tui.data.cache import cache_dir, load_cache, write_cache
from recsys_tui.data.fields import MAX_FIELD_CHARS, MAX_TITLE_CHARS, is_clean
from recsys_tui.data.movielens import Dataset, Interactions, Movie, UserInfo
from recsys_tui.data.tables import TABLES_FILE, UserTable, clean_rows, load_tables

TITLES = ["Plain", "\x1b]52;c;eA==\x07Clip", "[/] kept", "x" * 1000, "\u202eevil", "Amélie", " padded ",
          "a::b, \"quoted\"", "", "tab\there", "日本 🎬", "x" * MAX_TITLE_CHARS]
GENRES = [("Drama",), ("Drama", "\x1b[2JNoir", "x" * 60), (), ("Comedy", "Children's"), ("Sci-Fi", "é")]


def hostile() -> Dataset:
    inter = Interactions.from_arrays([1, 2, 7], [1, 2, 3], [5.0, 3.0, 4.0], [0, 1, 2])
    movies = {n * 3 + 1: Movie(n * 3 + 1, t, None if n % 4 == 0 else 1990 + n, GENRES[n % len(GENRES)])
              for n, t in enumerate(TITLES)}
    users = {1: UserInfo(1, 30, "M", "writer", "12345"), 2: UserInfo(2, 0, "", "", ""),
             7: UserInfo(7, 41, "F", "\x1b[2J" + "o" * 100, " 99 "), 9: UserInfo(9, 22, "é", "artist", "x")}
    return Dataset(inter, movies, users, source="test")


def same(a: Dataset, b: Dataset) -> None:
    assert a.movies == b.movies and list(a.movies) == list(b.movies)
    assert dict(a.users) == dict(b.users) and sorted(a.users) == sorted(b.users)
    assert a.info["cleaned_on_load"] == b.info["cleaned_on_load"]


def test_columns_load_what_the_json_loads_cleaned_alike(tmp_path):
    write_cache(tmp_path, hostile(), name="h")
    folder = cache_dir(tmp_path, "h")
    assert (folder / TABLES_FILE).is_file()  # written with the cache
    columns = load_cache(tmp_path, name="h")
    assert isinstance(columns.users, UserTable)
    (folder / TABLES_FILE).unlink()
    parsed = load_cache(tmp_path, name="h")
    assert not isinstance(parsed.users, UserTable)
    same(columns, parsed)
    assert (folder / TABLES_FILE).is_file()  # the JSON open wrote them again
    again = load_cache(tmp_path, name="h", lazy_ratings=True)
    assert isinstance(again.users, UserTable)
    same(again, parsed)
    assert parsed.info["cleaned_on_load"]["titles"] > 0 and parsed.info["cleaned_on_load"]["users"] == 1
    assert again.users[7].occupation.startswith("␛[2J") and len(again.users[7].occupation) == MAX_FIELD_CHARS


def test_the_real_ml100k_tables(ml100k_data, tmp_path):
    import shutil

    shutil.copytree(ml100k_data, tmp_path / "data")
    folder = cache_dir(tmp_path / "data")
    (folder / TABLES_FILE).unlink(missing_ok=True)
    parsed = load_cache(tmp_path / "data")
    columns = load_cache(tmp_path / "data")
    assert isinstance(columns.users, UserTable) and len(columns.users) == 943 and len(columns.movies) == 1682
    same(columns, parsed)


def test_user_table_is_a_mapping():
    text = {f: np.array(v) for f, v in zip(("gender", "occupation", "zip_code"),
                                          (["M", "F"], ["a", "b"], ["1", "2"]), strict=True)}
    users = UserTable(np.array([3, 10]), np.array([20, 30]), text)
    assert users[10] == UserInfo(10, 30, "F", "b", "2") and users[np.int64(3)].age == 20
    assert 3 in users and 4 not in users and "3" not in users and True not in users and 11 not in users
    assert list(users) == [3, 10] and len(users) == 2 and max(users) == 10 and users.get(4) is None
    with pytest.raises(KeyError):
        users[4]
    assert 1 not in UserTable(np.zeros(0, np.int64), np.zeros(0, np.int64), {})
    dense = UserTable(np.arange(5, 9), np.arange(4), {f: np.array(["", "", "", ""]) for f in text})
    assert [u in dense for u in (4, 5, 8, 9, -1)] == [False, True, True, False, False]
    assert dense[np.int64(7)].age == 2 and list(dense) == [5, 6, 7, 8]


def test_clean_rows_is_the_one_at_a_time_check():
    values = [*TITLES, "ok", "a\x00b", " ", "x ", "é", "\x7f", "~" * 40, "~" * 41]
    for limit in (MAX_FIELD_CHARS, MAX_TITLE_CHARS):
        got = clean_rows(np.array(values), limit)
        assert got.tolist() == [is_clean(v, limit) for v in values]


def test_stale_damaged_or_malformed_columns_are_not_used(tmp_path):
    write_cache(tmp_path, hostile(), name="h")
    folder = cache_dir(tmp_path, "h")
    good = load_npz(folder / TABLES_FILE)
    digests = tuple(good["digests"].tolist())
    assert load_tables(folder, digests) is not None
    assert load_tables(folder, (digests[0], "0" * 64)) is None  # of other JSON files
    bad = {**good, "user_id": good["user_id"][::-1].copy()}  # not sorted
    save_npz(folder / TABLES_FILE, **bad)
    assert load_tables(folder, digests) is None
    save_npz(folder / TABLES_FILE, **{**good, "genre_of": good["genre_of"] + 100})  # out of range
    assert load_tables(folder, digests) is None
    save_npz(folder / TABLES_FILE, **{**good, "title": good["title"][:-1]})  # wrong shape
    assert load_tables(folder, digests) is None
    (folder / TABLES_FILE).write_bytes((folder / "manifest.json").read_bytes())  # not an npz
    assert load_tables(folder, digests) is None
    parsed = load_cache(tmp_path, name="h")  # falls back to the JSON and writes the columns again
    assert not isinstance(parsed.users, UserTable)
    same(load_cache(tmp_path, name="h"), parsed)


def test_a_text_the_columns_cannot_hold_keeps_the_json(tmp_path):
    data = hostile()
    data.movies[1] = Movie(1, "ends in NUL\x00", 1999, ("Drama",))
    write_cache(tmp_path, data, name="h")
    assert not (cache_dir(tmp_path, "h") / TABLES_FILE).exists()
    loaded = load_cache(tmp_path, name="h")
    assert not isinstance(loaded.users, UserTable) and loaded.movies[1].title == "ends in NUL␀"


def test_login_rows_from_columns_equal_one_user_at_a_time(tmp_path):
    from recsys_tui.core.catalogue import Catalogue

    write_cache(tmp_path, hostile(), name="h")
    columns = load_cache(tmp_path, name="h")
    assert isinstance(columns.users, UserTable) and columns.users.fixed  # user 7 was cleaned
    cat = Catalogue(columns)
    ids = [1, 2, 7, 9, 5, 10_000]
    for new in (False, True):
        assert cat.user_summaries(ids, new) == [cat.user_summary(u, new) for u in ids]
    (cache_dir(tmp_path, "h") / TABLES_FILE).unlink()
    parsed = Catalogue(load_cache(tmp_path, name="h"))
    assert parsed.user_summaries(ids, True) == cat.user_summaries(ids, True)

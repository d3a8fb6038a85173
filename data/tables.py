"""The movie and user tables in a form that opens fast: ``tables.npz`` beside the cache.

``movies.json`` and ``users.json`` stay the canonical tables (hashed in the manifest); parsing them
and making 162k ``UserInfo`` objects took about a second at MovieLens-25M size. ``tables.npz``
holds the same tables as columns, tied to the sha256 of both JSON files, and is written with the
cache (or on the first open of an older cache). A tables file that is missing, of other JSON
files, or malformed is ignored (the JSON is read and the file written again); it is never trusted
beyond its shapes: every text field is checked again on load, with array operations, and the few
rows that are not plainly clean go through ``data.fields`` as the JSON's would.

The users stay columns (``UserTable``: a read-only mapping that makes a ``UserInfo`` when one is
asked for); the movies become the usual ``Movie`` objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from recsys_tui.common.fsutil import load_npz, save_npz
from recsys_tui.data.fields import MAX_FIELD_CHARS, MAX_TITLE_CHARS, clean_movie, clean_user, is_clean
from recsys_tui.data.movielens import Movie, UserInfo

TABLES_FILE = "tables.npz"
TABLES_FORMAT = 1
USER_TEXT = ("gender", "occupation", "zip_code")
_SEP = "|"
"""Joins a movie's genres (MovieLens separates genres with it, so no genre name holds one)."""
_str_len = getattr(np, "strings", np.char).str_len


def _text(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=str) if values else np.zeros(0, "U1")


class UserTable(Mapping[int, UserInfo]):
    """Users as columns, looked up by id (sorted ``ids``); ``UserInfo`` made on demand."""

    def __init__(self, ids: np.ndarray, age: np.ndarray, text: dict[str, np.ndarray],
                 fixed: dict[int, UserInfo] | None = None) -> None:
        """``fixed``: users whose cleaned fields differ from the columns (looked up first)."""
        self.ids = ids
        self.age = age
        self.text = text
        self.fixed = fixed or {}
        self._first = int(ids[0]) if len(ids) else 0
        self._dense = bool(len(ids)) and int(ids[-1]) - self._first + 1 == len(ids)
        """Ids ``first … first + n - 1`` (every MovieLens user table): a row is a subtraction."""

    def row(self, user_id: object) -> int | None:
        """Row of ``user_id`` in the columns, or None."""
        if isinstance(user_id, bool) or not isinstance(user_id, (int, np.integer)) or not len(self.ids):
            return None
        if self._dense:
            n = int(user_id) - self._first
            return n if 0 <= n < len(self.ids) else None
        n = int(np.searchsorted(self.ids, user_id))
        return n if n < len(self.ids) and self.ids[n] == user_id else None

    def __getitem__(self, user_id: int) -> UserInfo:
        found = self.fixed.get(user_id)
        if found is not None:
            return found
        n = self.row(user_id)
        if n is None:
            raise KeyError(user_id)
        return UserInfo(int(self.ids[n]), int(self.age[n]), *(str(self.text[f][n]) for f in USER_TEXT))

    def __contains__(self, user_id: object) -> bool:
        return self.row(user_id) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __len__(self) -> int:
        return len(self.ids)


def clean_rows(values: np.ndarray, limit: int) -> np.ndarray:
    """One bool per string: ``data.fields.is_clean`` (printable ASCII, at most ``limit``
    characters, no space at either end), for every string at once."""
    n = len(values)
    if not n:
        return np.zeros(0, bool)
    values = np.ascontiguousarray(values, dtype=str)
    codes = values.view(np.uint32).reshape(n, -1)
    lens = _str_len(values)
    inside = np.arange(codes.shape[1]) < lens[:, None]
    printable = ((codes >= 32) & (codes <= 126)) | ~inside
    first, last = codes[:, 0], codes[np.arange(n), np.maximum(lens - 1, 0)]
    ends = (lens == 0) | ((first != 32) & (last != 32))
    return printable.all(axis=1) & (lens <= limit) & ends


def save_tables(folder: Path, movies: dict[int, Movie], users: Mapping[int, UserInfo],
                digests: tuple[str, str]) -> bool:
    """Write ``tables.npz`` atomically for these tables, naming the sha256 of ``movies.json`` and
    ``users.json``; False (nothing written) when a genre holds the separator or a text ends in
    NUL (NumPy's strings would drop it: the columns would not be the JSON's tables)."""
    ms = [movies[i] for i in sorted(movies)]
    us = [users[i] for i in sorted(users)]
    texts = [m.title for m in ms] + [g for m in ms for g in m.genres] + \
        [getattr(u, f) for u in us for f in USER_TEXT]
    if any(_SEP in g for m in ms for g in m.genres) or any(t.endswith("\x00") for t in texts):
        return False
    combos = [_SEP.join(m.genres) for m in ms]
    names, genre_of = np.unique(_text(combos), return_inverse=True) if ms else (_text([]), np.zeros(0))
    save_npz(folder / TABLES_FILE, format=np.array(TABLES_FORMAT), digests=np.array(digests, dtype=str),
             movie_id=np.array([m.item_id for m in ms], np.int64), title=_text([m.title for m in ms]),
             year=np.array([m.year if m.year is not None else -1 for m in ms], np.int64),
             has_year=np.array([m.year is not None for m in ms], bool), genre_sets=names,
             genre_of=np.asarray(genre_of, np.int64), user_id=np.array([u.user_id for u in us], np.int64),
             age=np.array([u.age for u in us], np.int64),
             **{f: _text([getattr(u, f) for u in us]) for f in USER_TEXT})
    return True


def load_tables(folder: Path, digests: tuple[str, str]
                ) -> tuple[dict[int, Movie], UserTable, dict[str, int]] | None:
    """(movies, users, how many titles/genre lists/users cleaning changed) from ``tables.npz``
    when it belongs to these JSON files, else None."""
    path = folder / TABLES_FILE
    if not path.is_file():
        return None
    try:
        a = load_npz(path)
        if int(a["format"]) != TABLES_FORMAT or tuple(a["digests"].tolist()) != digests:
            return None
        movie_id, title, year, has_year = a["movie_id"], a["title"], a["year"], a["has_year"]
        genre_sets, genre_of = a["genre_sets"], a["genre_of"]
        user_id, age = a["user_id"], a["age"]
        text = {f: a[f] for f in USER_TEXT}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    n, u = len(movie_id), len(user_id)
    if not (title.shape == year.shape == has_year.shape == genre_of.shape == (n,)
            and age.shape == (u,) and all(t.shape == (u,) for t in text.values())
            and all(x.dtype.kind == "i" for x in (movie_id, year, genre_of, user_id, age))
            and all(x.dtype.kind == "U" for x in (title, genre_sets, *text.values()))
            and has_year.dtype == bool
            and (not n or (genre_of.min() >= 0 and genre_of.max() < len(genre_sets)))
            and bool(np.all(np.diff(movie_id) > 0)) and bool(np.all(np.diff(user_id) > 0))):
        return None
    movies, counts = _movies(movie_id, title, year, has_year, genre_sets, genre_of)
    users, counts["users"] = _users(user_id, age, text)
    return movies, users, counts


def _movies(movie_id: np.ndarray, title: np.ndarray, year: np.ndarray, has_year: np.ndarray,
            genre_sets: np.ndarray, genre_of: np.ndarray) -> tuple[dict[int, Movie], dict[str, int]]:
    sets = [tuple(s.split(_SEP)) if s else () for s in genre_sets.tolist()]
    years = np.where(has_year, year, 0).tolist()
    ids = movie_id.tolist()
    made = map(Movie, ids, title.tolist(), [y if h else None for y, h in zip(years, has_year.tolist(),
                                                                             strict=True)],
               map(sets.__getitem__, genre_of.tolist()))
    movies = dict(zip(ids, made, strict=True))
    counts = {"titles": 0, "genres": 0}
    clean_sets = np.array([all(g and is_clean(g, MAX_FIELD_CHARS) for g in s) for s in sets], bool)
    dirty = ~(clean_rows(title, MAX_TITLE_CHARS) & (_str_len(title) > 0)) | ~clean_sets[genre_of] \
        if len(ids) else np.zeros(0, bool)
    for i in movie_id[dirty].tolist():  # the few that need it, as the JSON's would be cleaned
        m = movies[i]
        c = clean_movie(m)
        counts["titles"] += c.title != m.title
        counts["genres"] += c.genres != m.genres
        movies[i] = c
    return movies, counts


def _users(user_id: np.ndarray, age: np.ndarray, text: dict[str, np.ndarray]) -> tuple[UserTable, int]:
    table = UserTable(user_id, age, text)
    clean = np.ones(len(user_id), bool)
    for f in USER_TEXT:
        clean &= clean_rows(text[f], MAX_FIELD_CHARS)
    fixed = {}
    for i in user_id[~clean].tolist():
        u = table[i]
        c = clean_user(u)
        if c != u:
            fixed[i] = c
    table.fixed = fixed
    return table, len(fixed)

"""Validation of a data set's text fields: titles, genres, occupations are outside text.

A data set passes verification on its ratings' hash alone, so its tables are not trusted: every
title and user field is bounded in length and has its control characters (escape sequences, C1,
bidi overrides, NUL …) replaced by visible placeholders (``common.text.plain``). Markup-like text
such as ``[/]`` is kept as typed — renderers show it inertly. What was changed is counted so
``data fetch`` / ``data info`` can say so.
"""

from __future__ import annotations

from dataclasses import replace

from recsys_tui.common.text import plain
from recsys_tui.data.movielens import Dataset, Movie, UserInfo

MAX_TITLE_CHARS = 200
"""Longest title kept (ML-100K's longest is 81 characters); longer ones are cut with an ellipsis."""
MAX_FIELD_CHARS = 40
"""Longest gender/occupation/zip code kept (ML-100K's longest is 13)."""


def is_clean(value: str, limit: int) -> bool:
    """``value`` is what ``clean_field`` would return for it (the common case, checked cheaply:
    printable ASCII needs no placeholder, and nothing to strip or cut)."""
    return (len(value) <= limit and value.isascii() and value.isprintable()
            and (not value or (value[0] != " " and value[-1] != " ")))


def clean_field(value: str, limit: int) -> str:
    """``value`` on one line, control characters shown as placeholders, at most ``limit`` characters."""
    text = plain(value).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_movie(movie: Movie) -> Movie:
    """The movie with a safe, bounded title and only clean genre names.

    A genre is kept when it is a short name with no control characters (every MovieLens release's
    genres are: ML-100K's ``Children's``, ML-20M's ``Children`` and ``IMAX`` alike); anything else
    is dropped, never shown.
    """
    if movie.title and is_clean(movie.title, MAX_TITLE_CHARS) and all(
            g and is_clean(g, MAX_FIELD_CHARS) for g in movie.genres):
        return movie
    title = clean_field(movie.title, MAX_TITLE_CHARS) or "unknown"
    genres = tuple(g for g in movie.genres if g and clean_field(g, MAX_FIELD_CHARS) == g)
    return movie if (title, genres) == (movie.title, movie.genres) else replace(movie, title=title,
                                                                                genres=genres)


def clean_user(user: UserInfo) -> UserInfo:
    """The user with safe, bounded gender, occupation and zip code."""
    if is_clean(user.gender, MAX_FIELD_CHARS) and is_clean(user.occupation, MAX_FIELD_CHARS) \
            and is_clean(user.zip_code, MAX_FIELD_CHARS):
        return user
    fields = {name: clean_field(getattr(user, name), MAX_FIELD_CHARS)
              for name in ("gender", "occupation", "zip_code")}
    return user if all(getattr(user, k) == v for k, v in fields.items()) else replace(user, **fields)


def clean_dataset(dataset: Dataset) -> tuple[Dataset, dict[str, int]]:
    """(the dataset with every text field cleaned, how many titles/genre lists/users changed)."""
    movies = {i: c for i, m in dataset.movies.items() if (c := clean_movie(m)) is not m}
    users = {i: c for i, u in dataset.users.items() if (c := clean_user(u)) is not u}
    counts = {
        "titles": sum(c.title != dataset.movies[i].title for i, c in movies.items()),
        "genres": sum(c.genres != dataset.movies[i].genres for i, c in movies.items()),
        "users": sum(c != dataset.users[i] for i, c in users.items()),
    }
    if not movies and not users:
        return dataset, counts
    return replace(dataset, movies={**dataset.movies, **movies}, users={**dataset.users, **users}), counts


def describe(counts: dict[str, int]) -> str:
    """``"cleaned 3 titles, 1 user"`` — or ``"nothing to clean"``."""
    parts = [f"{n} {name if n != 1 else name.rstrip('s')}" for name, n in counts.items() if n]
    return "cleaned " + ", ".join(parts) if parts else "nothing to clean"

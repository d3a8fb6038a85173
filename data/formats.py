"""Parsers for the MovieLens family's published file formats (ML-1M and later).

* ``::`` separated ``.dat`` (ML-1M in latin-1, ML-10M): ``ratings.dat``, ``movies.dat``
  (``id::Title (Year)::Genre|Genre``; a title may itself hold ``::``), ``users.dat`` (ML-1M).
* CSV with a header (ML-20M, ML-25M, ML-32M, ml-latest-small): ``ratings.csv`` and
  ``movies.csv`` whose titles are quoted when they hold commas or quotes.

Ratings go through a vectorised fast path (pandas' C reader); when anything in it looks wrong the
file is read again line by line, so the ``DataError`` names the file and the first bad line.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from recsys_tui.common.errors import DataError
from recsys_tui.data.movielens import Interactions, Movie, UserInfo
from recsys_tui.data.parsers import MAX_ID, _interactions, _rows, _split_title, parse_id

CSV_RATINGS_HEADER = ("userId", "movieId", "rating", "timestamp")
CSV_MOVIES_HEADER = ("movieId", "title", "genres")
NO_GENRES = "(no genres listed)"
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)


def decode(raw: bytes, encoding: str, name: str) -> str:
    """Bytes as text; a UTF-8 file that is not UTF-8 falls back to latin-1 (ML-10M's mix)."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding.lower().replace("-", "") == "utf8":
            return raw.decode("latin-1")
        raise DataError(f"{name}: not {encoding} text") from None


def _check_steps(inter: Interactions, half_stars: bool, name: str) -> Interactions:
    step = 2.0 if half_stars else 1.0
    scaled = inter.ratings.astype(np.float64) * step
    bad = np.flatnonzero((scaled != np.rint(scaled)) | (inter.ratings < (0.5 if half_stars else 1)))
    if len(bad):
        what = "half stars 0.5–5" if half_stars else "whole stars 1–5"
        raise DataError(f"{name}, rating row {int(bad[0]) + 1}: {float(inter.ratings[bad[0]]):g} "
                        f"is not in {what}")
    return inter


def _fast(text: str, sep: str, header: bool) -> Interactions | None:
    """The C reader's answer, or None when any value is missing, fractional or out of range."""
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=0 if header else None,
                            names=None if header else list(range(4)), engine="c",
                            dtype={0: np.float64, 1: np.float64, 2: np.float64, 3: np.float64}
                            if not header else None, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError):
        return None
    if frame.shape[1] != 4 or frame.isna().to_numpy().any() or not len(frame):
        return None
    cols = [frame.iloc[:, n].to_numpy() for n in range(4)]
    if any(c.dtype.kind not in "if" for c in cols):
        return None
    ids_ok = all(np.all((c == np.floor(c)) & (c >= 1) & (c <= MAX_ID)) for c in cols[:2])
    r, t = cols[2].astype(np.float64), cols[3]
    if not ids_ok or not np.all((r >= 0.5) & (r <= 5)) or not np.all((t == np.floor(t)) & (t >= 0)):
        return None
    return Interactions.from_arrays(cols[0], cols[1], r, t)


def parse_ratings_dat(text: str, name: str = "ratings.dat", half_stars: bool = False) -> Interactions:
    """``UserID::MovieID::Rating::Timestamp`` per line."""
    if text.strip() and ("::" not in text.split("\n", 1)[0]):
        raise DataError(f"{name}, line 1: expected UserID::MovieID::Rating::Timestamp")
    inter = _fast(text.replace("::", "\t"), "\t", header=False)
    if inter is None:
        inter = _interactions(_rows(text.splitlines(), name, 1, "::", 4), name)
    return _check_steps(inter, half_stars, name)


def parse_ratings_csv(text: str, name: str = "ratings.csv", half_stars: bool = True) -> Interactions:
    """``userId,movieId,rating,timestamp`` with that header line."""
    text = text.removeprefix("\ufeff")
    first, _, rest = text.partition("\n")
    if tuple(f.strip() for f in first.rstrip("\r").split(",")) != CSV_RATINGS_HEADER:
        raise DataError(f"{name}, line 1: header must be {','.join(CSV_RATINGS_HEADER)}, "
                        f"found {first[:80]!r}")
    inter = _fast(text, ",", header=True)
    if inter is None:
        inter = _interactions(_rows(rest.splitlines(), name, 2, ",", 4), name)
    return _check_steps(inter, half_stars, name)


def _genres(field: str) -> tuple[str, ...]:
    field = field.strip()
    if not field or field == NO_GENRES:
        return ()
    return tuple(g.strip() for g in field.split("|") if g.strip())


def _movie(lineno: int, raw_id: str, raw_title: str, raw_genres: str, name: str) -> Movie:
    try:
        item_id = parse_id(raw_id, "movieId")
    except ValueError as exc:
        raise DataError(f"{name}, line {lineno}: {exc}") from None
    title, year = _split_title(raw_title)
    if not title:
        raise DataError(f"{name}, line {lineno}: empty title")
    return Movie(item_id, title, year, _genres(raw_genres))


def _add(movies: dict[int, Movie], movie: Movie, lineno: int, name: str) -> None:
    if movie.item_id in movies:
        raise DataError(f"{name}, line {lineno}: movie {movie.item_id} appears twice")
    movies[movie.item_id] = movie


def parse_movies_dat(text: str, name: str = "movies.dat") -> dict[int, Movie]:
    """``MovieID::Title (Year)::Genres``; the first and last ``::`` split, the title keeps the rest."""
    movies: dict[int, Movie] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, sep1, rest = line.partition("::")
        title, sep2, genres = rest.rpartition("::")
        if not (sep1 and sep2):
            raise DataError(f"{name}, line {lineno}: expected MovieID::Title::Genres")
        _add(movies, _movie(lineno, head, title, genres, name), lineno, name)
    if not movies:
        raise DataError(f"{name}: no movies found")
    return movies


def parse_movies_csv(text: str, name: str = "movies.csv") -> dict[int, Movie]:
    """``movieId,title,genres`` (RFC 4180 quoting: ``"Title, The (1995)"``, ``""`` for a quote)."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    movies: dict[int, Movie] = {}
    try:
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_MOVIES_HEADER:
            raise DataError(f"{name}, line 1: header must be {','.join(CSV_MOVIES_HEADER)}")
        for row in reader:
            lineno = reader.line_num
            if not row:
                continue
            if len(row) != 3:
                raise DataError(f"{name}, line {lineno}: expected 3 fields, found {len(row)}")
            _add(movies, _movie(lineno, row[0], row[1], row[2], name), lineno, name)
    except csv.Error as exc:
        raise DataError(f"{name}, line {reader.line_num}: {exc}") from None
    if not movies:
        raise DataError(f"{name}: no movies found")
    return movies


def parse_users_dat(text: str, name: str = "users.dat") -> dict[int, UserInfo]:
    """ML-1M ``UserID::Gender::Age::Occupation::Zip-code`` (occupation as GroupLens' code 0–20)."""
    users: dict[int, UserInfo] = {}
    for lineno, f in _rows(text.splitlines(), name, 1, "::", 5):
        try:
            user_id = parse_id(f[0], "UserID")
            age, code = int(f[2]), int(f[3])
        except ValueError as exc:
            raise DataError(f"{name}, line {lineno}: {exc}") from None
        if not 0 <= code < len(ML1M_OCCUPATIONS):
            raise DataError(f"{name}, line {lineno}: occupation code {code} is not 0–20")
        users[user_id] = UserInfo(user_id, age, f[1].strip(), ML1M_OCCUPATIONS[code], f[4].strip())
    if not users:
        raise DataError(f"{name}: no users found")
    return users


def anonymous_users(inter: Interactions) -> dict[int, UserInfo]:
    """A user table for sets that publish none: every rater, no demographics."""
    return {int(u): UserInfo(int(u), 0, "", "", "") for u in np.unique(inter.user_ids)}

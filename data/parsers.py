"""Parsers for MovieLens files (GroupLens and RecBole layouts) and user interaction files.

Every parser reports the file name and line number of the first bad line in a ``DataError``.
"""

from __future__ import annotations

import itertools
import math
import re
from array import array
from collections.abc import Iterable, Iterator

import numpy as np
from recsys_tui.common.errors import DataError
from recsys_tui.data.movielens import GENRES, Interactions, Movie, UserInfo

MAX_ID = 2**31 - 1
_YEAR_IN_TITLE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_HEADER_COLUMNS = ("user_id", "item_id", "rating", "timestamp")


def parse_id(text: str, what: str = "id") -> int:
    """A MovieLens-style id: a positive integer that fits in 31 bits."""
    text = text.strip()
    if not text.isdigit():
        raise ValueError(f"{what} must be a positive integer, got {text[:40]!r}")
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"{what} must be between 1 and {MAX_ID}, got {value}")
    return value


def parse_rating(text: str) -> float:
    """A star rating between 0.5 and 5."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"rating must be a number, got {text.strip()[:40]!r}") from None
    if not math.isfinite(value) or not 0.5 <= value <= 5:
        raise ValueError(f"rating must be between 0.5 and 5, got {text.strip()[:40]}")
    return value


def parse_timestamp(text: str) -> int:
    """Seconds since the epoch, a non-negative integer (a float with no fraction is accepted)."""
    text = text.strip()
    try:
        value = float(text) if ("." in text or "e" in text.lower()) else int(text)
    except ValueError:
        raise ValueError(f"timestamp must be an integer, got {text[:40]!r}") from None
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise ValueError(f"timestamp must be an integer, got {text[:40]!r}")
    value = int(value)
    if not 0 <= value < 2**62:
        raise ValueError(f"timestamp out of range: {text[:40]}")
    return value


def _rows(lines: Iterable[str], name: str, first_line: int, sep: str | None, ncols: int):
    """Yield (line number, fields) for non-blank lines, checking the column count."""
    for lineno, line in enumerate(lines, start=first_line):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split(sep) if sep else line.split()
        if len(fields) != ncols:
            raise DataError(f"{name}, line {lineno}: expected {ncols} fields, found {len(fields)}")
        yield lineno, fields


def _interactions(rows, name: str) -> Interactions:
    # compact typed columns (8 bytes a value) instead of lists of Python objects
    users, items, ratings, times = array("q"), array("q"), array("d"), array("q")
    for lineno, fields in rows:
        try:
            users.append(parse_id(fields[0], "user_id"))
            items.append(parse_id(fields[1], "item_id"))
            ratings.append(parse_rating(fields[2]))
            times.append(parse_timestamp(fields[3]))
        except ValueError as exc:
            raise DataError(f"{name}, line {lineno}: {exc}") from None
    if not users:
        raise DataError(f"{name}: no interactions found")
    return Interactions.from_arrays(np.frombuffer(users, np.int64), np.frombuffer(items, np.int64),
                                    np.frombuffer(ratings, np.float64), np.frombuffer(times, np.int64))


def parse_udata(text: str, name: str = "u.data") -> Interactions:
    """GroupLens ``u.data``: ``user item rating timestamp`` separated by tabs or spaces."""
    return _interactions(_rows(text.splitlines(), name, 1, None, 4), name)


def parse_interactions_text(text: str, name: str = "interactions") -> Interactions:
    """A user-supplied interactions file.

    Accepted: CSV or TSV with the header ``user_id,item_id,rating,timestamp`` (RecBole's
    ``user_id:token`` style header too), or MovieLens ``u.data`` (no header, whitespace separated).
    """
    return parse_interactions_lines(text.splitlines(), name)


def _no_binary(lines: Iterable[str], name: str) -> Iterator[str]:
    for line in lines:
        if "\x00" in line:
            raise DataError(f"{name}: binary data, expected a text file of interactions")
        yield line


def parse_interactions_lines(lines: Iterable[str], name: str = "interactions") -> Interactions:
    """``parse_interactions_text`` over lines read one at a time (a file is streamed, not slurped)."""
    stream = _no_binary(lines, name)
    skipped = 0
    for first in stream:
        first = first.removeprefix("\ufeff")  # the byte-order mark spreadsheets put before UTF-8 CSV
        if first.strip():
            break
        skipped += 1
    else:
        raise DataError(f"{name}: the file is empty")
    sep = "," if "," in first else ("\t" if "\t" in first else None)
    head = [f.strip().split(":")[0].lower() for f in (first.split(sep) if sep else first.split())]
    if head and not head[0].isdigit():
        if tuple(head) != _HEADER_COLUMNS:
            raise DataError(
                f"{name}, line {skipped + 1}: header must be {','.join(_HEADER_COLUMNS)}, "
                f"found {first.rstrip()[:80]!r}"
            )
        return _interactions(_rows(stream, name, skipped + 2, sep, 4), name)
    return _interactions(_rows(itertools.chain([first], stream), name, skipped + 1, sep, 4), name)


def parse_recbole_inter(text: str, name: str = "ml-100k.inter") -> Interactions:
    """RecBole's atomic ``.inter`` file (header line, tab separated)."""
    return parse_interactions_text(text, name)


def _split_title(raw: str) -> tuple[str, int | None]:
    raw = raw.strip()
    match = _YEAR_IN_TITLE.match(raw)
    if match:
        return match.group("title").strip(), int(match.group("year"))
    return raw, None


def parse_uitem(text: str, name: str = "u.item") -> dict[int, Movie]:
    """GroupLens ``u.item``: ``id|title (year)|release date|video date|url|19 genre flags``."""
    movies: dict[int, Movie] = {}
    for lineno, f in _rows(text.splitlines(), name, 1, "|", 5 + len(GENRES)):
        try:
            item_id = parse_id(f[0], "item_id")
            flags = [int(x) for x in f[5:]]
        except ValueError as exc:
            raise DataError(f"{name}, line {lineno}: {exc}") from None
        title, year = _split_title(f[1])
        if year is None and re.search(r"\d{4}$", f[2].strip()):
            year = int(f[2].strip()[-4:])
        genres = tuple(g for g, flag in zip(GENRES, flags, strict=True) if flag)
        movies[item_id] = Movie(item_id, title or "unknown", year, genres)
    if not movies:
        raise DataError(f"{name}: no movies found")
    return movies


def parse_recbole_item(text: str, name: str = "ml-100k.item") -> dict[int, Movie]:
    """RecBole's ``.item``: ``item_id  title  release_year  genres`` (tab separated, header)."""
    movies: dict[int, Movie] = {}
    for lineno, f in _rows(text.splitlines()[1:], name, 2, "\t", 4):
        try:
            item_id = parse_id(f[0], "item_id")
        except ValueError as exc:
            raise DataError(f"{name}, line {lineno}: {exc}") from None
        year = int(f[2]) if f[2].strip().isascii() and f[2].strip().isdigit() else None
        genres = tuple(g for g in f[3].split() if g in GENRES)
        title = f[1].strip()
        if title == "unkonwn":  # RecBole's spelling of GroupLens' "unknown" entry
            title = "unknown"
        movies[item_id] = Movie(item_id, title, year, genres)
    if not movies:
        raise DataError(f"{name}: no movies found")
    return movies


def _user(lineno: int, f: list[str], name: str) -> UserInfo:
    try:
        return UserInfo(
            parse_id(f[0], "user_id"), int(f[1]), f[2].strip(), f[3].strip(), f[4].strip()
        )
    except ValueError as exc:
        raise DataError(f"{name}, line {lineno}: {exc}") from None


def parse_uuser(text: str, name: str = "u.user") -> dict[int, UserInfo]:
    """GroupLens ``u.user``: ``id|age|gender|occupation|zip``."""
    users = {u.user_id: u for u in (_user(n, f, name) for n, f in _rows(text.splitlines(), name, 1, "|", 5))}
    if not users:
        raise DataError(f"{name}: no users found")
    return users


def parse_recbole_user(text: str, name: str = "ml-100k.user") -> dict[int, UserInfo]:
    """RecBole's ``.user``: tab separated with a header line."""
    rows = _rows(text.splitlines()[1:], name, 2, "\t", 5)
    users = {u.user_id: u for u in (_user(n, f, name) for n, f in rows)}
    if not users:
        raise DataError(f"{name}: no users found")
    return users


def ratings_array(inter: Interactions) -> np.ndarray:
    """(n, 4) int64 array of user, item, rating×2, timestamp sorted canonically (for hashing)."""
    arr = np.stack(
        [
            inter.user_ids,
            inter.item_ids,
            np.rint(inter.ratings * 2).astype(np.int64),
            inter.timestamps,
        ],
        axis=1,
    ).astype("<i8")
    order = np.lexsort((arr[:, 3], arr[:, 1], arr[:, 0]))
    return np.ascontiguousarray(arr[order])

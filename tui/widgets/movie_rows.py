"""The rows a movie table shows, in display order, costing the UI thread nothing per row.

A search can return all 59k titles of MovieLens-25M at every keystroke. ``MovieRows`` keeps the
engine's list as it is (no dict, no id list per keystroke): the table reads row ``n`` by position
when it draws it, the column widths come from what the engine's list carries (``MovieRowList``:
its largest count and the user's distinct ratings), and the id → position index that selecting,
refreshing one row or ``rows[item_id]`` need is built on first such use, once per result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from operator import attrgetter
from typing import overload

from recsys_tui.core.results import MovieRow, MovieRowList

_ID = attrgetter("item_id")


def _title(row: MovieRow) -> str:
    return row.title.casefold()


def _genres(row: MovieRow) -> str:
    return ",".join(row.genres)


SORT_KEYS = {"title": _title, "year": attrgetter("year"), "genres": _genres,
             "avg": attrgetter("avg_rating"), "n": attrgetter("n_ratings"),
             "yours": attrgetter("your_rating")}
"""The value a column sorts by (None: the row has none, and goes last)."""


class ItemIds(Sequence[int]):
    """The item ids of ``MovieRows`` in display order, read through on demand."""

    def __init__(self, rows: MovieRows) -> None:
        self._rows = rows

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return list(map(_ID, self._rows.list[index]))
        return self._rows.list[index].item_id

    def __len__(self) -> int:
        return len(self._rows.list)

    def __iter__(self) -> Iterator[int]:
        return map(_ID, self._rows.list)

    def __contains__(self, item_id: object) -> bool:
        return self._rows.position(item_id) is not None

    def index(self, item_id: object, start: int = 0, stop: int | None = None) -> int:
        """Position of ``item_id`` (ValueError when absent), from the rows' id index."""
        n = self._rows.position(item_id)
        if n is None or n < start or (stop is not None and n >= stop):
            raise ValueError(f"{item_id!r} is not in the table")
        return n


class MovieRows(Mapping[int, MovieRow]):
    """Rows in display order (``list``), looked up by item id as a mapping (index built lazily)."""

    def __init__(self, rows: list[MovieRow], max_count: int | None = None,
                 rated: frozenset[float] | None = None) -> None:
        """``max_count``/``rated``: the largest ``n_ratings`` and the distinct ``your_rating``
        values of ``rows``; computed from the rows when not given."""
        self.list = rows
        self.max_count = max_count if max_count is not None else \
            max(map(attrgetter("n_ratings"), rows), default=0)
        self.rated = set(rated) if rated is not None else \
            {v for v in set(map(attrgetter("your_rating"), rows)) if v is not None}
        self._at: dict[int, int] | None = None

    @classmethod
    def of(cls, rows: Sequence[MovieRow]) -> MovieRows:
        """The engine's rows as they are; a ``MovieRowList`` brings its widths along."""
        if isinstance(rows, MovieRowList):
            return cls(rows, rows.max_count, rows.rated)
        return cls(list(rows))

    @property
    def ids(self) -> ItemIds:
        return ItemIds(self)

    def at(self, n: int) -> MovieRow:
        return self.list[n]

    def position(self, item_id: object) -> int | None:
        """Where ``item_id`` is in the display order (None when it is not shown)."""
        if self._at is None:
            self._at = dict(zip(map(_ID, self.list), range(len(self.list)), strict=True))
        return self._at.get(item_id)  # type: ignore[call-overload]

    def put(self, row: MovieRow) -> bool:
        """Replace the row of ``row.item_id`` in place; False when that movie is not shown."""
        n = self.position(row.item_id)
        if n is None:
            return False
        self.list[n] = row
        self.max_count = max(self.max_count, row.n_ratings)
        if row.your_rating is not None:
            self.rated.add(row.your_rating)
        return True

    def sorted(self, column: str, reverse: bool) -> MovieRows:
        """These rows sorted by ``column`` (stable); rows without a value go last both ways."""
        key = SORT_KEYS[column]
        have = [r for r in self.list if key(r) is not None]
        missing = [r for r in self.list if key(r) is None]
        have.sort(key=key, reverse=reverse)
        return MovieRows(have + missing, self.max_count, frozenset(self.rated))

    def __getitem__(self, item_id: int) -> MovieRow:
        n = self.position(item_id)
        if n is None:
            raise KeyError(item_id)
        return self.list[n]

    def __contains__(self, item_id: object) -> bool:
        return self.position(item_id) is not None

    def __iter__(self) -> Iterator[int]:
        return map(_ID, self.list)

    def __len__(self) -> int:
        return len(self.list)

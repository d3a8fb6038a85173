"""The movie catalogue and user table with their statistics; indexed title search.

Built with array operations only (no per-rating Python loop, ids looked up in a table rather than
by binary search), so it opens in a fraction of a second at MovieLens-25M size. Title search runs
one vectorised substring scan (``numpy.strings.find``) per word over the normalised titles, kept in
popularity order, so a keystroke costs a few milliseconds at 59k titles whatever it matches; a
blank search walks the precomputed popularity order. The counts, averages and favourite genres
come from the ratings' summary (``data.summary``: saved beside the cache, so an open does not read
the ratings); every user's favourite genres are three argmax passes, on first use.
"""

from __future__ import annotations

import dataclasses
import re
from itertools import repeat

import numpy as np
from recsys_tui.core.results import MovieRow, MovieRowList, UserSummary
from recsys_tui.data.movielens import GENRES, Dataset
from recsys_tui.data.summary import RatingSummary, summarise
from recsys_tui.data.tables import UserTable
from recsys_tui.data.vocab import IdMap

_WORD = re.compile(r"[\w']+")
_find = getattr(np, "strings", np.char).find  # the ufunc on NumPy 2, a loop on 1.26
TOP_GENRES = 3


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


class Catalogue:
    """Movies with average rating and count; users with their favourite genres."""

    def __init__(self, dataset: Dataset, summary: RatingSummary | None = None) -> None:
        """``summary``: the ratings' saved summary (``data.cache.summary``); computed from the
        ratings when not given."""
        self.movies = dataset.movies
        s = summary if summary is not None else summarise(dataset)
        self.item_ids = s.item_ids
        self.n_ratings = s.n_ratings
        self.avg_rating = np.divide(s.rating_sums, s.n_ratings, out=np.zeros(len(s.rating_sums)),
                                    where=s.n_ratings > 0)
        self._labels = {item: movie.label for item, movie in self.movies.items()}
        """Title with year per item id, made once (the hot path names up to 50 items an event)."""
        self._by_popularity = np.lexsort((self.item_ids, -self.n_ratings))
        self._hays: np.ndarray | None = None
        self.genres: tuple[str, ...] = s.genres
        self._genre_col = {g: n for n, g in enumerate(self.genres)}
        self.users = dataset.users
        self.user_counts: dict[int, int] = dict(zip(s.user_ids.tolist(), s.user_counts.tolist(),
                                                    strict=True))
        self._user_ids = s.user_ids
        self._user_n = s.user_counts
        self._liked = s.liked
        self._top_genres: np.ndarray | None = None
        self._genre_masks: dict[str, np.ndarray] = {}
        self._made: list[MovieRow] | None = None

    @property
    def _hay(self) -> np.ndarray:
        """Normalised titles in popularity order (what a search scans): made on the first search,
        not on the way to the login screen (about 0.3 s for 59k titles; the engine's ``finish_open``
        makes it in the background)."""
        if self._hays is None:
            hays = [_norm(self._labels[i]) for i in self.item_ids[self._by_popularity].tolist()]
            self._hays = np.array(hays, dtype=str) if hays else np.zeros(0, "U1")
        return self._hays

    def prepare(self) -> None:
        """Make the normalised titles a search scans ahead of the first search (the rows are made
        by the app's first search, after the first list is shown)."""
        _ = self._hay

    def has_item(self, item_id: int) -> bool:
        return item_id in self.movies

    def title(self, item_id: int) -> str:
        label = self._labels.get(item_id)
        return label if label is not None else f"item {item_id}"

    def _pos(self, item_id: int) -> int:
        return int(np.searchsorted(self.item_ids, item_id))

    def row(self, item_id: int, your_rating: float | None = None) -> MovieRow:
        return self._row_at(self._pos(item_id), your_rating)

    def _row_at(self, n: int, your_rating: float | None = None) -> MovieRow:
        item_id = int(self.item_ids[n])
        m = self.movies[item_id]
        return MovieRow(item_id, m.title, m.year, m.genres, round(float(self.avg_rating[n]), 2),
                        int(self.n_ratings[n]), your_rating)

    def _genre_mask(self, genre: str) -> np.ndarray:
        """One bool per title in popularity order: the film has ``genre`` (built once per genre)."""
        mask = self._genre_masks.get(genre)
        if mask is None:
            ids = self.item_ids[self._by_popularity].tolist()
            mask = np.fromiter((genre in self.movies[i].genres for i in ids), bool, len(ids))
            self._genre_masks[genre] = mask
        return mask

    def search(self, text: str = "", genre: str | None = None, limit: int | None = 200,
               ratings: dict[int, float] | None = None) -> MovieRowList:
        """Movies whose title (with year) holds every word of ``text``; most-rated first
        (titles starting with the first word before the rest). The list also carries the largest
        count and the distinct ``ratings`` among its rows (``MovieRowList``)."""
        words = _norm(text).split()
        if genre is not None and genre not in GENRES and genre not in self._genre_col:
            raise ValueError(f"unknown genre {genre!r}")
        ratings = ratings or {}
        if not words:
            hits = np.arange(len(self._hay)) if not genre else np.flatnonzero(self._genre_mask(genre))
        else:
            at = _find(self._hay, words[0])
            hits = np.flatnonzero(at >= 0)
            if genre and len(hits):
                hits = hits[self._genre_mask(genre)[hits]]
            for word in dict.fromkeys(words[1:]):
                if len(hits):  # each further word is looked for only in the titles still in
                    hits = hits[_find(self._hay[hits], word) >= 0]
            starts = at[hits] == 0
            hits = np.concatenate((hits[starts], hits[~starts]))
        chosen = self._by_popularity[hits if limit is None else hits[:limit]]
        rated: set[float] = set()
        rows = MovieRowList(map(self._rows().__getitem__, chosen.tolist()),
                            int(self.n_ratings[chosen].max(initial=0)), frozenset())
        if ratings:  # the few rated movies among the hits get their own copy with the rating
            ids = np.fromiter(ratings, np.int64, len(ratings))
            for n in np.flatnonzero(np.isin(self.item_ids[chosen], ids)).tolist():
                rows[n] = dataclasses.replace(rows[n], your_rating=ratings[rows[n].item_id])
                rated.add(ratings[rows[n].item_id])
            rows.rated = frozenset(rated)
        return rows

    def _rows(self) -> list[MovieRow]:
        """One row per catalogue position without a rating (rows are immutable, so every search
        hands out the same objects: a search of the whole catalogue is a list of references)."""
        if self._made is None:
            self._made = [self._row_at(n) for n in range(len(self.item_ids))]
        return self._made

    def _user_top_genres(self) -> np.ndarray:
        """users × TOP_GENRES: each user's most-liked genres (films rated 4 or more), as columns
        of ``genres`` (-1 = none); ties go to the genre listed first. Built once, vectorised."""
        if self._top_genres is None:
            counts = self._liked.astype(np.int64)  # a copy: chosen genres are struck out below
            n = min(TOP_GENRES, len(self.genres))
            top = np.full((len(counts), n), -1, np.int16)
            rows = np.arange(len(counts))
            for k in range(n):  # argmax takes the first of equal counts: the genres' own order
                best = counts.argmax(axis=1) if len(counts) else np.zeros(0, np.int64)
                top[:, k] = np.where(counts[rows, best] > 0, best, -1)
                counts[rows, best] = -1
            self._top_genres = top
        return self._top_genres

    def top_genres(self, user_id: int, n: int = TOP_GENRES) -> tuple[str, ...]:
        row = int(np.searchsorted(self._user_ids, user_id))
        if row >= len(self._user_ids) or self._user_ids[row] != user_id or not self.genres:
            return ()
        return tuple(self.genres[g] for g in self._user_top_genres()[row, :n].tolist() if g >= 0)

    def user_summaries(self, user_ids: list[int], new: bool = False) -> list[UserSummary]:
        """``user_summary`` of many users at once (the login table's 162k rows at ML-25M size):
        rows, counts and genres looked up with array operations, no per-user search."""
        if not user_ids:
            return []
        rows = IdMap(self._user_ids).indices(np.asarray(user_ids, np.int64)) if len(self._user_ids) \
            else np.full(len(user_ids), -1, np.int64)
        known = rows >= 0
        counts = np.zeros(len(user_ids), np.int64)
        tops: list[tuple[str, ...]] = [()] * len(user_ids)
        if known.any() and self.genres:
            # each user's genre combination as one number; the few distinct ones are named once
            table = self._user_top_genres()[rows[known]].astype(np.int64) + 1
            codes = (table * (len(self.genres) + 1) ** np.arange(table.shape[1])).sum(axis=1)
            _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
            names = [tuple(self.genres[g - 1] for g in table[i].tolist() if g > 0) for i in first.tolist()]
            named = list(map(names.__getitem__, inverse.reshape(-1).tolist()))
            if known.all():  # every data-set user: one list, no per-user assignment
                tops = named
            else:
                for n, top in zip(np.flatnonzero(known).tolist(), named, strict=True):
                    tops[n] = top
        if known.any():
            counts[known] = self._user_n[rows[known]]
        ages, genders, jobs = self._demographics(user_ids, new)
        return list(map(UserSummary, user_ids, ages, genders, jobs, counts.tolist(), tops,
                        repeat(new, len(user_ids))))

    def _demographics(self, user_ids: list[int], new: bool) -> tuple[list, list, list]:
        """(ages, genders, occupations) of ``user_ids``; a user the table does not know has no
        age and is a "new user" when ``new``. Columns are gathered at once from a ``UserTable``."""
        users, unknown = self.users, "new user" if new else ""
        if not isinstance(users, UserTable) or not len(users.ids):
            infos = list(map(users.get, user_ids))
            return ([i.age if i else None for i in infos], [i.gender if i else "" for i in infos],
                    [i.occupation if i else unknown for i in infos])
        ids = np.asarray(user_ids, np.int64)
        rows = IdMap(users.ids).indices(ids)
        at = np.where(rows >= 0, rows, 0)
        ages = users.age[at].tolist()
        genders = users.text["gender"][at].tolist()
        jobs = users.text["occupation"][at].tolist()
        for n in np.flatnonzero(rows < 0).tolist():
            ages[n], genders[n], jobs[n] = None, "", unknown
        if users.fixed:  # the few users whose fields were cleaned on load
            for n in np.flatnonzero(np.isin(ids, np.fromiter(users.fixed, np.int64))).tolist():
                info = users.fixed[user_ids[n]]
                ages[n], genders[n], jobs[n] = info.age, info.gender, info.occupation
        return ages, genders, jobs

    def user_summary(self, user_id: int, new: bool = False) -> UserSummary:
        info = self.users.get(user_id)
        return UserSummary(
            user_id=user_id,
            age=info.age if info else None,
            gender=info.gender if info else "",
            occupation=info.occupation if info else ("new user" if new else ""),
            n_ratings=self.user_counts.get(user_id, 0),
            top_genres=self.top_genres(user_id),
            new=new,
        )

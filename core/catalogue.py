"""The movie catalogue and user table with their statistics; indexed title search.

Built with array operations only (no per-rating Python loop), so it opens in about a second at
MovieLens-25M size; a search costs one substring scan of one string plus work on its hits, and a
blank search is a walk down the precomputed popularity order that stops at ``limit``.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from recsys_tui.core.results import MovieRow, UserSummary
from recsys_tui.data.movielens import GENRES, Dataset

_WORD = re.compile(r"[\w']+")
_SEP = "\x00"  # between titles in the search blob; never inside a normalised title


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


class Catalogue:
    """Movies with average rating and count; users with their favourite genres."""

    def __init__(self, dataset: Dataset) -> None:
        self.movies = dataset.movies
        inter = dataset.interactions
        self.item_ids = np.fromiter(sorted(self.movies), np.int64, len(self.movies))
        idx = np.searchsorted(self.item_ids, inter.item_ids)
        idx = np.minimum(idx, max(len(self.item_ids) - 1, 0))
        ok = (self.item_ids[idx] == inter.item_ids) if len(self.item_ids) else np.zeros(len(idx), bool)
        self._rating_pos = np.where(ok, idx, -1)
        self.n_ratings = np.bincount(idx[ok], minlength=len(self.item_ids))
        sums = np.bincount(idx[ok], weights=inter.ratings[ok], minlength=len(self.item_ids))
        self.avg_rating = np.divide(sums, self.n_ratings, out=np.zeros(len(sums)),
                                    where=self.n_ratings > 0)
        self._labels = {item: movie.label for item, movie in self.movies.items()}
        """Title with year per item id, made once (the hot path names up to 50 items an event)."""
        self._hay = [_norm(self._labels[int(i)]) for i in self.item_ids]
        self._blob = _SEP.join(self._hay)
        self._offsets = np.cumsum([0] + [len(h) + 1 for h in self._hay[:-1]]) if self._hay \
            else np.zeros(0, np.int64)
        self._by_popularity = np.lexsort((self.item_ids, -self.n_ratings))
        found = {g for m in self.movies.values() for g in m.genres}
        self.genres: tuple[str, ...] = tuple(g for g in GENRES if g in found) + tuple(
            sorted(found - set(GENRES)))
        self._genre_col = {g: n for n, g in enumerate(self.genres)}
        self.users = dataset.users
        users, counts = np.unique(inter.user_ids, return_counts=True)
        self.user_counts: dict[int, int] = dict(zip(users.tolist(), counts.tolist(), strict=True))
        self._inter = inter
        self._user_ids = users
        self._genre_counts: np.ndarray | None = None
        self._genre_masks: dict[str, np.ndarray] = {}

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

    def _matches(self, word: str) -> np.ndarray:
        """Offsets in the search blob where ``word`` occurs (one C-level scan)."""
        return np.fromiter((m.start() for m in re.finditer(re.escape(word), self._blob)), np.int64)

    def _titles_at(self, offsets: np.ndarray) -> np.ndarray:
        """Catalogue positions of the titles holding these blob offsets (sorted, unique)."""
        return np.unique(np.searchsorted(self._offsets, offsets, side="right") - 1)

    def _genre_mask(self, genre: str) -> np.ndarray:
        """One bool per catalogue position: the film has ``genre`` (built once per genre)."""
        mask = self._genre_masks.get(genre)
        if mask is None:
            mask = np.fromiter((genre in self.movies[i].genres for i in self.item_ids.tolist()), bool,
                               len(self.item_ids))
            self._genre_masks[genre] = mask
        return mask

    def search(self, text: str = "", genre: str | None = None, limit: int | None = 200,
               ratings: dict[int, float] | None = None) -> list[MovieRow]:
        """Movies whose title (with year) holds every word of ``text``; most-rated first
        (titles starting with the first word before the rest)."""
        words = _norm(text).split()
        if genre is not None and genre not in GENRES and genre not in self._genre_col:
            raise ValueError(f"unknown genre {genre!r}")
        ratings = ratings or {}
        if not words:
            order = self._by_popularity
            if genre:
                order = order[self._genre_mask(genre)[order]]
        else:
            first = self._matches(words[0])
            pos = self._titles_at(first)
            for word in dict.fromkeys(words[1:]):
                if len(pos):
                    pos = np.intersect1d(pos, self._titles_at(self._matches(word)), assume_unique=True)
            if genre and len(pos):
                pos = pos[self._genre_mask(genre)[pos]]
            starts = np.isin(self._offsets[pos], first)
            order = pos[np.lexsort((self.item_ids[pos], -self.n_ratings[pos], ~starts))]
        chosen = (order if limit is None else order[:limit]).tolist()
        return [self._row_at(p, ratings.get(int(self.item_ids[p]))) for p in chosen]

    def _user_genre_counts(self) -> np.ndarray:
        """users × genres: how many films of each genre each user rated 4 or more (built once)."""
        if self._genre_counts is None:
            inter = self._inter
            liked = (inter.ratings >= 4) & (self._rating_pos >= 0)
            rows = np.searchsorted(self._user_ids, inter.user_ids[liked])
            likes = sp.csr_matrix((np.ones(int(liked.sum()), np.float32), (rows, self._rating_pos[liked])),
                                  shape=(len(self._user_ids), len(self.item_ids)))
            r, c = [], []
            for n, i in enumerate(self.item_ids.tolist()):
                for g in self.movies[i].genres:
                    r.append(n)
                    c.append(self._genre_col[g])
            genre_of = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)),
                                     shape=(len(self.item_ids), len(self.genres)))
            self._genre_counts = np.asarray((likes @ genre_of).todense(), dtype=np.float32)
        return self._genre_counts

    def top_genres(self, user_id: int, n: int = 3) -> tuple[str, ...]:
        row = int(np.searchsorted(self._user_ids, user_id))
        if row >= len(self._user_ids) or self._user_ids[row] != user_id or not self.genres:
            return ()
        counts = self._user_genre_counts()[row]
        order = np.lexsort((np.arange(len(counts)), -counts))[:n]
        return tuple(self.genres[g] for g in order.tolist() if counts[g] > 0)

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

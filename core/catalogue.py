"""The movie catalogue and user table with their statistics; title search."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from recsys_tui.core.results import MovieRow, UserSummary
from recsys_tui.data.movielens import GENRES, Dataset

_WORD = re.compile(r"[\w']+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


class Catalogue:
    """Movies with average rating and count; users with their favourite genres."""

    def __init__(self, dataset: Dataset) -> None:
        self.movies = dataset.movies
        inter = dataset.interactions
        self.item_ids = np.array(sorted(self.movies), dtype=np.int64)
        pos = {int(i): n for n, i in enumerate(self.item_ids)}
        # vectorised (engine start-up is on the path of every CLI command): position of each
        # rated item in item_ids, -1 for items the catalogue lacks
        found = np.searchsorted(self.item_ids, inter.item_ids)
        found = np.minimum(found, max(len(self.item_ids) - 1, 0))
        ok = (self.item_ids[found] == inter.item_ids) if len(self.item_ids) else \
            np.zeros(len(inter.item_ids), bool)
        idx = found[ok]
        self.n_ratings = np.bincount(idx, minlength=len(self.item_ids))
        sums = np.bincount(idx, weights=inter.ratings[ok], minlength=len(self.item_ids))
        self.avg_rating = np.divide(sums, self.n_ratings, out=np.zeros(len(sums)),
                                    where=self.n_ratings > 0)
        self._pos = pos
        self._search_text = {i: _norm(m.label) for i, m in self.movies.items()}
        self.users = dataset.users
        users, counts = np.unique(inter.user_ids, return_counts=True)
        self.user_counts = Counter(dict(zip(users.tolist(), counts.tolist(), strict=True)))
        liked = inter.ratings >= 4
        order = np.argsort(inter.user_ids[liked], kind="stable")
        self._liked_users = inter.user_ids[liked][order]
        self._liked_items = inter.item_ids[liked][order]
        self._user_genres: dict[int, Counter] = {}
        """Genres of the items each user rated 4+, counted when first asked for."""

    def has_item(self, item_id: int) -> bool:
        return item_id in self.movies

    def title(self, item_id: int) -> str:
        movie = self.movies.get(item_id)
        return movie.label if movie else f"item {item_id}"

    def row(self, item_id: int, your_rating: float | None = None) -> MovieRow:
        m = self.movies[item_id]
        n = self._pos[item_id]
        return MovieRow(item_id, m.title, m.year, m.genres, round(float(self.avg_rating[n]), 2),
                        int(self.n_ratings[n]), your_rating)

    def search(self, text: str = "", genre: str | None = None, limit: int | None = 200,
               ratings: dict[int, float] | None = None) -> list[MovieRow]:
        """Movies whose title (with year) holds every word of ``text``; most-rated first."""
        words = _norm(text).split()
        if genre is not None and genre not in GENRES:
            raise ValueError(f"unknown genre {genre!r}")
        hits = []
        for item_id, movie in self.movies.items():
            if genre and genre not in movie.genres:
                continue
            hay = self._search_text[item_id]
            if all(w in hay for w in words):
                starts = bool(words) and hay.startswith(words[0])
                hits.append((not starts, -int(self.n_ratings[self._pos[item_id]]), item_id))
        hits.sort()
        ratings = ratings or {}
        return [self.row(i, ratings.get(i)) for _, _, i in hits[:limit]]

    def top_genres(self, user_id: int, n: int = 3) -> tuple[str, ...]:
        genres = self._user_genres.get(user_id)
        if genres is None:
            lo, hi = np.searchsorted(self._liked_users, [user_id, user_id + 1])
            genres = Counter()
            for item in self._liked_items[lo:hi].tolist():
                movie = self.movies.get(item)
                if movie:
                    genres.update(movie.genres)
            self._user_genres[user_id] = genres
        return tuple(g for g, _ in genres.most_common(n))

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

"""Typed views of MovieLens-100K: interactions, movies, users."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GENRES: tuple[str, ...] = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)

N_RATINGS = 100_000
N_USERS = 943
N_ITEMS = 1_682


@dataclass(frozen=True)
class Movie:
    """One catalogue entry; ``item_id`` is MovieLens' own id."""

    item_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]

    @property
    def label(self) -> str:
        """Title with year, as people quote it."""
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass(frozen=True)
class UserInfo:
    """Demographics MovieLens keeps for a user."""

    user_id: int
    age: int
    gender: str
    occupation: str
    zip_code: str


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays of (user, item, rating, timestamp), raw MovieLens ids, in file order."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.user_ids)
        if not (len(self.item_ids) == len(self.ratings) == len(self.timestamps) == n):
            raise ValueError("interaction arrays differ in length")

    def __len__(self) -> int:
        return len(self.user_ids)

    def take(self, index: np.ndarray) -> Interactions:
        """The rows at ``index`` (an integer or boolean array), same order."""
        return Interactions(
            self.user_ids[index], self.item_ids[index], self.ratings[index], self.timestamps[index]
        )

    @staticmethod
    def concat(parts: list[Interactions]) -> Interactions:
        """Rows of every part, one after another."""
        return Interactions(
            np.concatenate([p.user_ids for p in parts]),
            np.concatenate([p.item_ids for p in parts]),
            np.concatenate([p.ratings for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
        )

    @staticmethod
    def from_arrays(users, items, ratings, timestamps) -> Interactions:
        """Build with the canonical dtypes (int64 ids and times, float32 ratings)."""
        return Interactions(
            np.asarray(users, dtype=np.int64),
            np.asarray(items, dtype=np.int64),
            np.asarray(ratings, dtype=np.float32),
            np.asarray(timestamps, dtype=np.int64),
        )


@dataclass(frozen=True)
class Dataset:
    """Interactions plus catalogue and user table, and where they came from."""

    interactions: Interactions
    movies: dict[int, Movie]
    users: dict[int, UserInfo]
    source: str = "unknown"
    content_hash: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(np.unique(self.interactions.user_ids))

    @property
    def n_items(self) -> int:
        return len(self.movies) if self.movies else len(np.unique(self.interactions.item_ids))

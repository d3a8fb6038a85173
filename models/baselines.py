"""Baselines every result is shown beside: popularity and random."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.base import Recommender
from recsys_tui.models.params import param


class PopularityRecommender(Recommender):
    """Items ranked by how many users rated them (the same list for everybody)."""

    name = "popularity"
    personal: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.counts = np.zeros(0, dtype=np.float32)

    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> PopularityRecommender:
        self.n_items = ratings.shape[1]
        self.counts = np.bincount(ratings.indices, minlength=self.n_items).astype(np.float32)
        return self

    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        return self.counts.copy()

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.counts, (ratings.shape[0], self.n_items)).copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.counts = arrays["counts"].astype(np.float32)
        self.n_items = len(self.counts)


@dataclass(frozen=True)
class RandomParams:
    """Random baseline parameters."""

    seed: int = param(42, 0, 2**32 - 1)
    """Seed of the scores (with the history, so one user's list is reproducible)."""


class RandomRecommender(Recommender):
    """Uniformly random scores, reproducible from ``seed`` and the history."""

    name = "random"
    Params = RandomParams
    personal: ClassVar[bool] = False

    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> RandomRecommender:
        self.n_items = ratings.shape[1]
        return self

    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        key = [self.config.seed, len(items), *np.asarray(items[:8], dtype=np.int64).tolist()]
        return np.random.default_rng(key).random(self.n_items).astype(np.float32)

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        rng = np.random.default_rng(self.config.seed)
        return rng.random((ratings.shape[0], self.n_items)).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"n_items": np.array([self.n_items])}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.n_items = int(arrays["n_items"][0])

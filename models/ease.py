"""EASE: closed-form shallow autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.base import Recommender
from recsys_tui.models.params import param
from recsys_tui.models.weighting import user_idf


@dataclass(frozen=True)
class EASEParams:
    """EASE hyper-parameters (defaults tuned by ``recsys-tui tune --model ease``)."""

    l2: float = param(500.0, 1.0, 1e9)
    """λ added to the Gram matrix's diagonal before inversion (too small: a singular system)."""
    scheme: str = param("binary", choices=("binary", "rating"))
    """X entries: 1 per rated film (``binary``) or the stars (``rating``)."""
    negative_below: float = param(0.0, 0.0, 5.0)
    """Ratings at or below this enter X as 0 (seen, never promoting neighbours)."""
    user_idf: bool = param(False)
    """Multiply a user's row by ln N − ln(1 + n_u)."""


class EASERecommender(Recommender):
    """B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹, zero diagonal; a user scores as x_u·B.

    A new rating changes a user's scores by one row of B, so online updates cost O(items).
    ``scheme="binary"`` uses X ∈ {0,1}; ``"rating"`` uses the star values. Ratings at or below
    ``negative_below`` enter X as 0: they mark the film as seen but never promote its neighbours.
    ``user_idf`` multiplies a user's row by ln N − ln(1 + n_u) (n_u = the user's positive entries,
    ``models.weighting``); it depends only on the user's own full history, so a one-user score is
    still a weighted sum of rows of B.
    """

    name = "ease"
    Params = EASEParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.B = np.zeros((0, 0), dtype=np.float32)

    def _values(self, ratings: np.ndarray) -> np.ndarray:
        """X entries for one user's full history (the order of ``ratings`` is kept)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        c: EASEParams = self.config
        v = np.ones_like(ratings) if c.scheme == "binary" else ratings.copy()
        negative = ratings <= c.negative_below
        v[negative] = 0.0
        if c.user_idf and len(v):
            v *= user_idf(self.n_items, int((~negative).sum()))
        return v

    def _matrix(self, ratings: sp.csr_matrix) -> sp.csr_matrix:
        x = ratings.astype(np.float64, copy=True).tocsr()
        for u in range(x.shape[0]):
            lo, hi = x.indptr[u], x.indptr[u + 1]
            if hi > lo:
                x.data[lo:hi] = self._values(x.data[lo:hi])
        return x

    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> EASERecommender:
        self.n_items = ratings.shape[1]
        x = self._matrix(ratings)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.config.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self.B = b.astype(np.float32)
        return self

    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        return self._values(ratings).astype(np.float32) @ self.B[items]

    def score_targets(self, items: np.ndarray, ratings: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Scores of ``targets`` only (x_u·B restricted to those columns)."""
        items = np.asarray(items, dtype=np.int64)
        return self._values(ratings) @ self.B[np.ix_(items, np.asarray(targets, dtype=np.int64))]

    def contributions(self, items: np.ndarray, ratings: np.ndarray, targets: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        """items × targets: xⱼ·Bⱼᵢ, rated item j's exact term of target i's score Σⱼ xⱼBⱼᵢ."""
        items = np.asarray(items, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        return self._values(ratings)[:, None] * self.B[np.ix_(items, targets)]

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        return np.asarray(self._matrix(ratings).astype(np.float32) @ self.B)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"].astype(np.float32)
        self.n_items = self.B.shape[0]

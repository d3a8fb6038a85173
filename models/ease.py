"""EASE: closed-form shallow autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.base import ModelError, Recommender
from recsys_tui.models.weighting import user_idf


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
    defaults: ClassVar[dict[str, Any]] = {"l2": 500.0, "scheme": "binary", "negative_below": 0.0,
                                          "user_idf": False}

    def __init__(self, **params) -> None:
        super().__init__(**params)
        if float(self.params["l2"]) <= 0:
            raise ModelError("ease: l2 must be > 0")
        if self.params["scheme"] not in ("binary", "rating"):
            raise ModelError("ease: scheme must be binary or rating")
        self.B = np.zeros((0, 0), dtype=np.float32)

    def _values(self, ratings: np.ndarray) -> np.ndarray:
        """X entries for one user's full history (the order of ``ratings`` is kept)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        v = np.ones_like(ratings) if self.params["scheme"] == "binary" else ratings.copy()
        negative = ratings <= float(self.params["negative_below"])
        v[negative] = 0.0
        if self.params["user_idf"] and len(v):
            v *= user_idf(self.n_items, int((~negative).sum()))
        return v

    def _matrix(self, ratings: sp.csr_matrix) -> sp.csr_matrix:
        x = ratings.astype(np.float64, copy=True).tocsr()
        for u in range(x.shape[0]):
            lo, hi = x.indptr[u], x.indptr[u + 1]
            if hi > lo:
                x.data[lo:hi] = self._values(x.data[lo:hi])
        return x

    def fit(self, ratings: sp.csr_matrix) -> EASERecommender:
        self.n_items = ratings.shape[1]
        x = self._matrix(ratings)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += float(self.params["l2"])
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self.B = b.astype(np.float32)
        return self

    def score_history(self, items: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        return self._values(ratings).astype(np.float32) @ self.B[items]

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        return np.asarray(self._matrix(ratings).astype(np.float32) @ self.B)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"].astype(np.float32)
        self.n_items = self.B.shape[0]

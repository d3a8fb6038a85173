"""EASE: closed-form shallow autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from models.base import ModelError, Recommender


class EASERecommender(Recommender):
    """B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹, zero diagonal; a user scores as x_u·B.

    A new rating changes a user's scores by one row of B, so online updates cost O(items).
    ``scheme="binary"`` uses X ∈ {0,1}; ``"rating"`` uses the star values.
    """

    name = "ease"
    defaults: ClassVar[dict[str, Any]] = {"l2": 500.0, "scheme": "binary", "negative_below": 0.0}

    def __init__(self, **params) -> None:
        super().__init__(**params)
        if float(self.params["l2"]) <= 0:
            raise ModelError("ease: l2 must be > 0")
        if self.params["scheme"] not in ("binary", "rating"):
            raise ModelError("ease: scheme must be binary or rating")
        self.B = np.zeros((0, 0), dtype=np.float32)

    def _values(self, ratings: np.ndarray) -> np.ndarray:
        ratings = np.asarray(ratings, dtype=np.float64)
        v = np.ones_like(ratings) if self.params["scheme"] == "binary" else ratings.copy()
        v[ratings <= float(self.params["negative_below"])] = 0.0
        return v

    def fit(self, ratings: sp.csr_matrix) -> EASERecommender:
        self.n_items = ratings.shape[1]
        x = ratings.astype(np.float64, copy=True)
        x.data = self._values(x.data)
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
        x = ratings.astype(np.float32, copy=True)
        x.data = self._values(x.data).astype(np.float32)
        return np.asarray(x @ self.B)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"B": self.B}

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.B = arrays["B"].astype(np.float32)
        self.n_items = self.B.shape[0]

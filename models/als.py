"""ALS matrix factorisation (implicit's CPU solver) with an exact one-user fold-in."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from models.base import EmbeddingModel, ModelError
from models.weighting import Weighting


class ALSRecommender(EmbeddingModel):
    """Hu–Koren–Volinsky implicit ALS, 64 factors, rating-derived BM25 confidences.

    ``fold_in`` re-solves one user's vector against the fixed item factors from the user's full
    history: the same normal equations implicit's Cholesky solver builds, so it equals
    ``AlternatingLeastSquares.recalculate_user`` for that user.
    """

    name = "als"
    defaults: ClassVar[dict[str, Any]] = {
        "factors": 64,
        "regularization": 5.0,
        "iterations": 15,
        "alpha": 1.0,
        "scheme": "rating",
        "bm25": True,
        "bm25_k1": 100.0,
        "bm25_b": 0.8,
        "negative_below": 0.0,
        "negative_weight": 1.0,
        "use_cg": False,
        "random_state": 42,
    }

    def __init__(self, **params) -> None:
        super().__init__(**params)
        p = self.params
        if int(p["factors"]) < 1 or float(p["regularization"]) < 0 or int(p["iterations"]) < 1:
            raise ModelError("als: factors and iterations must be ≥ 1, regularization ≥ 0")
        self.weighting = Weighting(
            scheme=p["scheme"], alpha=float(p["alpha"]), bm25=bool(p["bm25"]),
            k1=float(p["bm25_k1"]), b=float(p["bm25_b"]),
            negative_below=float(p["negative_below"]),
            negative_weight=float(p["negative_weight"]),
        )
        self.item_factors = np.zeros((0, int(p["factors"])), dtype=np.float32)
        self.user_factors = np.zeros((0, int(p["factors"])), dtype=np.float32)
        self._gram: np.ndarray | None = None

    def fit(self, ratings: sp.csr_matrix) -> ALSRecommender:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        self.n_items = ratings.shape[1]
        self.weighting.fit(ratings)
        conf = self.weighting.matrix(ratings)
        model = AlternatingLeastSquares(
            factors=int(p["factors"]), regularization=float(p["regularization"]), alpha=1.0,
            iterations=int(p["iterations"]), use_cg=bool(p["use_cg"]),
            random_state=int(p["random_state"]), num_threads=1,
        )
        with threadpool_limits(limits=1, user_api="blas"):
            model.fit(conf, show_progress=False)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._gram = None
        return self

    @property
    def gram(self) -> np.ndarray:
        """YᵀY + λI in float64, cached: the part of the normal equations shared by every user."""
        if self._gram is None:
            y = self.item_factors.astype(np.float64)
            self._gram = y.T @ y + float(self.params["regularization"]) * np.eye(y.shape[1])
        return self._gram

    def fold_in(self, items: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        conf = self.weighting.row(items, ratings)
        y = self.item_factors[items].astype(np.float64)
        a = self.gram + (y.T * (np.abs(conf) - 1.0)) @ y
        b = y.T @ np.where(conf > 0, conf, 0.0)
        return np.linalg.solve(a, b).astype(np.float32)

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        vectors = np.stack(
            [
                self.fold_in(ratings.indices[ratings.indptr[u]: ratings.indptr[u + 1]],
                             ratings.data[ratings.indptr[u]: ratings.indptr[u + 1]])
                for u in range(ratings.shape[0])
            ]
        ) if ratings.shape[0] else np.zeros((0, self.item_factors.shape[1]), np.float32)
        return vectors @ self.item_factors.T

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "idf": np.asarray(self.weighting.idf, dtype=np.float64),
            "avg_len": np.array([self.weighting.avg_len]),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.user_factors = arrays["user_factors"].astype(np.float32)
        self.item_factors = arrays["item_factors"].astype(np.float32)
        self.weighting.idf = arrays["idf"].astype(np.float64)
        self.weighting.avg_len = float(arrays["avg_len"][0])
        self.n_items = self.item_factors.shape[0]
        self._gram = None

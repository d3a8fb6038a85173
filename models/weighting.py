"""How star ratings become ALS confidences (documented in docs/METHOD.md).

A rating ``r`` of item ``i`` by a user whose ratings sum to ``L`` becomes

    v = r                                  (``scheme="rating"``)  or 1 (``"binary"``)
    v = v·(K1+1) / (K1·((1-B) + B·L/avgL) + v) · idf_i     (BM25, when ``bm25=True``)
    c = alpha · v

and ratings at or below ``negative_below`` are passed to implicit as ``-c`` with
``c = alpha · negative_weight``: preference 0 held with that confidence, so a 1-star rating pushes
the user's vector *away* from the movie instead of towards it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Weighting:
    """Rating → confidence map; ``idf`` and ``avg_len`` are learned from the training matrix."""

    scheme: str = "rating"
    alpha: float = 1.0
    bm25: bool = True
    k1: float = 100.0
    b: float = 0.8
    negative_below: float = 0.0
    negative_weight: float = 1.0
    idf: np.ndarray | None = None
    avg_len: float = 1.0

    def _values(self, ratings: np.ndarray) -> np.ndarray:
        if self.scheme == "binary":
            return np.ones_like(ratings, dtype=np.float64)
        if self.scheme == "rating":
            return ratings.astype(np.float64)
        raise ValueError(f"unknown weighting scheme {self.scheme!r}")

    def fit(self, ratings: sp.csr_matrix) -> Weighting:
        """Learn idf (per item) and the average row length from a users × items matrix."""
        n_users = max(ratings.shape[0], 1)
        df = np.bincount(ratings.indices, minlength=ratings.shape[1])
        self.idf = np.log(n_users) - np.log1p(df)
        values = ratings.copy()
        values.data = self._values(ratings.data)
        lengths = np.asarray(values.sum(axis=1)).ravel()
        self.avg_len = float(lengths.mean()) if len(lengths) else 1.0
        return self

    def row(self, items: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Signed confidences for one user's history (negative = disliked)."""
        ratings = np.asarray(ratings, dtype=np.float64)
        v = self._values(ratings)
        if self.bm25 and len(v):
            norm = (1.0 - self.b) + self.b * v.sum() / self.avg_len
            v = v * (self.k1 + 1.0) / (self.k1 * norm + v) * self.idf[items]
        c = self.alpha * v
        negative = ratings <= self.negative_below
        if negative.any():
            c[negative] = -self.alpha * self.negative_weight
        # a confidence of exactly 0 would mean "no information": keep a small positive floor
        return np.where(c == 0, 1e-6, c)

    def matrix(self, ratings: sp.csr_matrix) -> sp.csr_matrix:
        """Signed confidences for every row of a users × items matrix."""
        out = ratings.astype(np.float64, copy=True).tocsr()
        for u in range(out.shape[0]):
            lo, hi = out.indptr[u], out.indptr[u + 1]
            if hi > lo:
                out.data[lo:hi] = self.row(out.indices[lo:hi], out.data[lo:hi])
        return out.astype(np.float32)

    def state(self) -> dict:
        """Parameters as JSON-able values (``idf`` is saved as an array)."""
        return {
            "scheme": self.scheme, "alpha": self.alpha, "bm25": self.bm25, "k1": self.k1,
            "b": self.b, "negative_below": self.negative_below,
            "negative_weight": self.negative_weight, "avg_len": self.avg_len,
        }

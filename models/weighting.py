"""How star ratings become ALS confidences (documented in docs/METHOD.md).

A rating ``r`` of item ``i`` by user ``u`` becomes the confidence

    v = r                                  (``scheme="rating"``)  or 1 (``"binary"``)
    v = v · (ln N − ln(1 + n_u))           (per-user IDF, when ``user_idf=True``; the default)
    v = v·(K1+1) / (K1·((1-B) + B·L/avgL) + v) · idf_i     (BM25, when ``bm25=True``)
    c = alpha · v

where N is the number of items, n_u the number of the user's *positive* entries (ratings above
``negative_below``) and L the sum of the user's values. The per-user IDF is the user-side twin of
TF-IDF: a rating from someone who rated 20 films says more about them than one rating among 700.
It is floored at ``USER_IDF_FLOOR`` so a user who rated (almost) everything keeps a positive weight.

Ratings at or below ``negative_below`` are passed to implicit as ``-negative_weight``: preference
0 held with confidence ``negative_weight ≥ 1``. Weight 1 (the default) is exactly "not rated": the
entry adds nothing to the user's normal equations. Above 1 it is a confident "no": the film's
predicted preference is pulled towards 0, i.e. down from any positive score, never up past 0.
Either way a low rating never pulls recommendations towards the movie, and because n_u counts
only positive entries, adding a disliked rating leaves every other confidence unchanged.

Online events: a positive entry the person gave *online* (logged in the app, the CLI or the replay
after the batch model was trained) has its confidence multiplied by

    m = max(1, online_weight · online_decay^k)

where k is its *recency*: how many of the user's logged items are newer (0 = the latest). A rating
given now, in session, is a stronger and fresher signal than a bulk rating from 1998; as the person
goes on, it fades back to the weight of a batch rating. ``recency`` (one int per entry, −1 for batch
entries) is passed to ``row``. Dislikes keep ``-negative_weight`` (their meaning does not depend on
when they were given). The batch data has no online entries, so offline results do not depend on
these two parameters; ``recsys-tui train`` gives logged ratings the same recencies (from the event
log), so a retrain and the fold-in solve the same weighted problem.

Everything that depends on the user (n_u, L) is recomputed from the full history passed to
``row``, so a one-user fold-in uses exactly the confidences training used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

USER_IDF_FLOOR = 0.05
"""Smallest per-user IDF factor (reached only by users who rated nearly the whole catalogue)."""


def user_idf(n_items: int, n_positive: int | np.ndarray) -> np.ndarray:
    """ln N − ln(1 + n_u), floored at ``USER_IDF_FLOOR`` (scalar or one value per user)."""
    return np.maximum(np.log(max(n_items, 1)) - np.log1p(n_positive), USER_IDF_FLOOR)


@dataclass
class Weighting:
    """Rating → confidence map; ``idf``, ``avg_len`` and ``n_items`` are learned from training."""

    scheme: str = "rating"
    alpha: float = 1.0
    bm25: bool = False
    k1: float = 100.0
    b: float = 0.8
    user_idf: bool = False
    negative_below: float = 0.0
    negative_weight: float = 1.0
    online_weight: float = 1.0
    online_decay: float = 1.0
    idf: np.ndarray | None = None
    avg_len: float = 1.0
    n_items: int = 1

    def __post_init__(self) -> None:
        if self.scheme not in ("rating", "binary"):
            raise ValueError(f"unknown weighting scheme {self.scheme!r}")
        if self.alpha <= 0:
            raise ValueError("alpha must be > 0")
        if self.negative_weight < 1:
            raise ValueError("negative_weight must be ≥ 1 (1 = a low rating counts as unrated)")
        if not self.online_weight >= 1:
            raise ValueError("online_weight must be ≥ 1 (1 = online ratings count like batch ones)")
        if not 0 < self.online_decay <= 1:
            raise ValueError("online_decay must be in (0, 1] (1 = online ratings never fade)")

    def _values(self, ratings: np.ndarray) -> np.ndarray:
        if self.scheme == "binary":
            return np.ones_like(ratings, dtype=np.float64)
        return ratings.astype(np.float64)

    def fit(self, ratings: sp.csr_matrix) -> Weighting:
        """Learn idf (per item), the average row length and the catalogue size."""
        n_users = max(ratings.shape[0], 1)
        self.n_items = max(int(ratings.shape[1]), 1)
        df = np.bincount(ratings.indices, minlength=ratings.shape[1])
        self.idf = np.log(n_users) - np.log1p(df)
        # row sums of the values without a copy of the matrix (200 MB at ML-25M size)
        counts = np.diff(ratings.indptr)
        lengths = np.zeros(ratings.shape[0])
        if ratings.nnz:
            filled = counts > 0
            lengths[filled] = np.add.reduceat(self._values(ratings.data), ratings.indptr[:-1][filled])
        self.avg_len = float(lengths.mean()) if len(lengths) else 1.0
        return self

    def user_weight(self, n_positive: int) -> float:
        """ln N − ln(1 + n_u), floored at ``USER_IDF_FLOOR``."""
        return float(user_idf(self.n_items, n_positive))

    def parts(self, ratings: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
        """``row`` in parts, for sums kept across calls: (user scale s, base b, negative mask) with
        a batch entry's confidence s·b (positive) or −``negative_weight`` (negative); s depends on
        the count of positives only. None with BM25 (every confidence depends on the row's length)."""
        if self.bm25:
            return None
        ratings = np.asarray(ratings, dtype=np.float64)
        negative = ratings <= self.negative_below
        scale = self.user_weight(int((~negative).sum())) if self.user_idf else 1.0
        return scale, self.alpha * self._values(ratings), negative

    def online_multiplier(self, recency: np.ndarray) -> np.ndarray:
        """max(1, online_weight · online_decay^k) per entry of recency k ≥ 0; 1 for batch (k < 0)."""
        k = np.asarray(recency, dtype=np.float64)
        m = np.maximum(1.0, self.online_weight * self.online_decay ** np.maximum(k, 0.0))
        return np.where(k >= 0, m, 1.0)

    def row(self, items: np.ndarray, ratings: np.ndarray, recency: np.ndarray | None = None) -> np.ndarray:
        """Signed confidences for one user's full history (negative = disliked).

        ``recency`` (optional, one int per entry): −1 for a batch rating, else how many of the
        user's logged items are newer; positive confidences are scaled by ``online_multiplier``.
        """
        ratings = np.asarray(ratings, dtype=np.float64)
        v = self._values(ratings)
        negative = ratings <= self.negative_below
        if self.bm25 and len(v):
            norm = (1.0 - self.b) + self.b * v.sum() / self.avg_len
            v = v * (self.k1 + 1.0) / (self.k1 * norm + v) * self.idf[items]
        if self.user_idf and len(v):
            v = v * self.user_weight(int((~negative).sum()))
        return self._finish(self.alpha * v, negative, recency)

    def _finish(self, c: np.ndarray, negative: np.ndarray | None, recency: np.ndarray | None) -> np.ndarray:
        """The steps ``row`` and ``confidences`` share: online recency, dislikes, the floor (``c``
        is a fresh array and is changed in place; ``negative`` None = no dislikes)."""
        if recency is not None:
            recency = np.asarray(recency)
            if recency.shape != c.shape:
                raise ValueError(f"recency has {recency.size} entries for {c.size} ratings")
            if self.online_weight != 1.0:
                c = c * self.online_multiplier(recency)
        if negative is not None and negative.any():
            c[negative] = -self.negative_weight
        # a confidence of exactly 0 would mean "no information": keep a small positive floor
        zero = c == 0
        if zero.any():
            c[zero] = 1e-6
        return c

    def confidences(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> np.ndarray:
        """``row`` of every row of a users × items CSR at once (float64, aligned with
        ``ratings.data``): the same arithmetic, per-user terms (n_u, L) gathered with bincount.

        Worked in place on one copy of the data: at ML-25M size every temporary is 200 MB, and
        fresh memory costs page faults (this was 6.5 s of the fit there)."""
        n_rows = ratings.shape[0]
        counts = np.diff(ratings.indptr)
        v = np.array(ratings.data, dtype=np.float64)  # our own copy: changed in place below
        negative = v <= self.negative_below
        any_negative = bool(negative.any())
        if self.scheme == "binary":
            v.fill(1.0)
        owner = np.repeat(np.arange(n_rows), counts) if self.bm25 or (self.user_idf and any_negative) \
            else None
        if self.bm25 and len(v):
            lengths = np.bincount(owner, weights=v, minlength=n_rows)
            norm = (1.0 - self.b) + self.b * lengths[owner] / self.avg_len
            v = v * (self.k1 + 1.0) / (self.k1 * norm + v) * self.idf[ratings.indices]
        if self.user_idf and len(v):
            positives = np.bincount(owner[~negative], minlength=n_rows) if any_negative else counts
            v *= np.repeat(user_idf(self.n_items, positives), counts)
        v *= self.alpha
        return self._finish(v, negative if any_negative else None, recency)

    def matrix(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> sp.csr_matrix:
        """Signed confidences for every row of a users × items matrix (``confidences``, float32).

        ``recency``: optional int per stored entry of ``ratings`` (aligned with ``ratings.data``).
        """
        out = ratings.astype(np.float64, copy=True).tocsr()
        out.data = self.confidences(out, recency)
        return out.astype(np.float32)

    def state(self) -> dict:
        """Parameters as JSON-able values (``idf`` is saved as an array)."""
        return {
            "scheme": self.scheme, "alpha": self.alpha, "bm25": self.bm25, "k1": self.k1,
            "b": self.b, "user_idf": self.user_idf, "negative_below": self.negative_below,
            "negative_weight": self.negative_weight, "online_weight": self.online_weight,
            "online_decay": self.online_decay,
            "avg_len": self.avg_len, "n_items": self.n_items,
        }

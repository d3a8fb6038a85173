"""The model interface every recommender implements.

Models work on dense indices (rows = users, columns = items of a fixed item vocabulary); the
``TrainedModel`` bundle in ``models.bundle`` keeps the raw-id vocabularies beside them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.errors import ModelError, ParamError
from recsys_tui.models.params import check_params, defaults_of

__all__ = ["EmbeddingModel", "ModelError", "NoParams", "ParamError", "Recommender", "top_k",
           "top_k_rows"]


@dataclass(frozen=True)
class NoParams:
    """A model without hyper-parameters."""


class Recommender(ABC):
    """Fit on a user×item CSR of star ratings; score users or arbitrary histories.

    What a model can do is declared here, never probed: every model takes an optional ``recency``
    (one int per history entry, −1 = batch, else how many of the user's logged items are newer)
    in ``fit``, ``score_history``, ``contributions`` and ``rerank``, and says with
    ``weighs_online_recency`` whether it uses it. ``contributions`` is ``None`` when the score has
    no exact per-rated-item decomposition; ``rerank`` is the identity unless the model is two-stage,
    in which case ``candidates`` says how many retrieved items it wants.
    """

    name: ClassVar[str]
    Params: ClassVar[type] = NoParams
    """The model's parameter dataclass (``models.params``): typed, bounded, documented fields."""
    defaults: ClassVar[dict[str, Any]] = {}
    """``Params``' defaults by name (derived; kept for callers that list parameters)."""
    weighs_online_recency: ClassVar[bool] = False
    """True when online entries weigh more by recency in ``fit`` and every scoring method
    (docs/METHOD.md §1); otherwise ``recency`` is accepted and has no effect."""
    personal: ClassVar[bool] = True
    """False when a user's scores do not depend on their history (popularity, random)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.defaults = defaults_of(cls.Params)

    def __init__(self, **params: Any) -> None:
        self.config = check_params(self.name, self.Params, params)
        self.params: dict[str, Any] = asdict(self.config)
        self.n_items = 0

    @abstractmethod
    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> Recommender:
        """Learn from ``ratings`` (users × items, values 0.5–5); ``recency`` aligned with ``data``."""

    @abstractmethod
    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        """Scores of every item for a user who rated ``items`` with ``ratings`` (fold-in)."""

    def contributions(self, items: np.ndarray, ratings: np.ndarray, targets: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray | None:
        """items × targets: each rated item's exact share of each target's score; ``None`` when the
        score does not decompose over the history (the default)."""
        return None

    def candidates(self, k: int) -> int:
        """How many retrieved (unseen) items ``rerank`` wants for a list of ``k`` (default ``k``)."""
        return k

    def rerank(self, items: np.ndarray, ratings: np.ndarray, cand: np.ndarray, k: int,
               cand_scores: np.ndarray, recency: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` of retrieved candidates (indices, scores); the default keeps their order."""
        return np.asarray(cand)[:k], np.asarray(cand_scores)[:k]

    def fit_timings(self) -> dict[str, float]:
        """Seconds of the last ``fit``'s parts, for the version's manifest ({} by default)."""
        return {}

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        """Scores (rows × items) for many histories at once; rows of ``ratings`` are users."""
        out = np.empty((ratings.shape[0], self.n_items), dtype=np.float32)
        for row in range(ratings.shape[0]):
            lo, hi = ratings.indptr[row], ratings.indptr[row + 1]
            out[row] = self.score_history(ratings.indices[lo:hi], ratings.data[lo:hi])
        return out

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Learned state as plain numeric arrays (saved to npz, never pickled)."""

    @abstractmethod
    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore the learned state written by ``arrays``."""


class EmbeddingModel(Recommender):
    """A model whose scores are inner products of a user vector with item vectors."""

    item_factors: np.ndarray
    user_factors: np.ndarray

    @abstractmethod
    def fold_in(self, items: np.ndarray, ratings: np.ndarray,
                recency: np.ndarray | None = None) -> np.ndarray:
        """The user vector for a history, item vectors held fixed."""

    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        return self.item_factors @ self.fold_in(items, ratings, recency)


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` best scores, best first, leaving out ``exclude``; ties by index."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None and len(exclude):
        scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.lexsort((part, -scores[part]))]


def top_k_rows(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Row-wise top-k (rows × k), best first; excluded entries are never returned.

    Rows with fewer than ``k`` candidates are padded with -1.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        scores[rows, exclude.indices] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    out = np.take_along_axis(part, order, axis=1)
    out[~np.isfinite(np.take_along_axis(part_scores, order, axis=1))] = -1
    return out

"""Two-stage retrieve-then-rank: ALS inner-product retrieval, EASE + ALS re-ranking.

Stage 1 (retrieval) is what a FAISS inner-product index over the ALS item factors returns: the
``candidates`` unseen items with the largest yᵢᵀx_u, x_u the user's exact ALS fold-in. The engine
runs it on its FAISS index; offline (and in ``score_history``) the same top-N is taken with NumPy.
Stage 2 (ranking) scores only those candidates with

    s_i = z(EASE_i) + als_weight · z(ALS_i)

where z standardises over the candidate set. EASE sees the user's star ratings scaled by the
per-user IDF (``models.weighting``), ALS scores are the stage-1 inner products. Both stages depend
on the user only through their full history, so a fold-in is exact: the ALS part is the usual
one-user solve and the EASE part is a weighted sum of rows of B.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.als import ALSParams, ALSRecommender
from recsys_tui.models.base import EmbeddingModel, top_k
from recsys_tui.models.ease import EASERecommender
from recsys_tui.models.params import param

_EASE_KEYS = {"ease_l2": "l2", "ease_scheme": "scheme", "ease_user_idf": "user_idf",
              "ease_negative_below": "negative_below"}


def _standardise(s: np.ndarray, axis: int = -1) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    sd = s.std(axis=axis, keepdims=True)
    return (s - s.mean(axis=axis, keepdims=True)) / np.where(sd > 0, sd, 1.0)


@dataclass(frozen=True)
class HybridParams(ALSParams):
    """Every ALS parameter (the retriever, its embedding and its online weighting) plus these."""

    candidates: int = param(200, 1, 10000)
    """N, how many items stage 1 retrieves for stage 2 to re-rank."""
    als_weight: float = param(5.0, 0.0, 1e3)
    """Blend weight of the standardised ALS score beside the standardised EASE score."""
    ease_l2: float = param(60000.0, 1.0, 1e9)
    """The ranker's EASE λ (``ease``'s ``l2``)."""
    ease_scheme: str = param("rating", choices=("binary", "rating"))
    """The ranker's EASE ``scheme``."""
    ease_user_idf: bool = param(True)
    """The ranker's EASE ``user_idf``."""
    ease_negative_below: float = param(1.0, 0.0, 5.0)
    """The ranker's EASE ``negative_below``."""


class HybridRecommender(EmbeddingModel):
    """ALS (64 factors) retrieves ``candidates`` items, EASE blended with ALS re-ranks them.

    Parameters (``HybridParams``): every ``als`` parameter under its own name (the retriever, its
    embedding and its online weighting: logged entries weigh ``online_weight``·``online_decay``^k in
    the fold-in, the retrain and the reasons, as for ``als``), ``ease_*`` for the ranker,
    ``candidates`` (N) and ``als_weight`` (blend weight of the ALS score).
    Items outside the candidate set still get finite scores, below every candidate and in ALS
    order, so ``score_history`` is a full ranking whose head is the two-stage list.
    """

    name = "hybrid"
    Params = HybridParams
    weighs_online_recency: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.base = ALSRecommender(**{f.name: p[f.name] for f in fields(ALSParams)})
        self.ease = EASERecommender(**{v: p[k] for k, v in _EASE_KEYS.items()})

    # -- the embedding side is the retriever's --------------------------------------------------

    @property
    def item_factors(self) -> np.ndarray:  # type: ignore[override]
        return self.base.item_factors

    @property
    def user_factors(self) -> np.ndarray:  # type: ignore[override]
        return self.base.user_factors

    @property
    def n_candidates(self) -> int:
        """How many items stage 1 hands to stage 2 (the engine searches its index this wide)."""
        return self.config.candidates

    def candidates(self, k: int) -> int:
        return max(k, self.n_candidates)

    def fit_timings(self) -> dict[str, float]:
        return self.base.fit_timings()

    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> HybridRecommender:
        """Fit both stages; ``recency`` weights logged entries in the ALS stage, as its fold-in does."""
        self.n_items = ratings.shape[1]
        self.base.fit(ratings, recency)
        self.ease.fit(ratings)
        return self

    def fold_in(self, items: np.ndarray, ratings: np.ndarray,
                recency: np.ndarray | None = None) -> np.ndarray:
        """The ALS stage's fold-in, online entries weighted by ``online_weight``/``online_decay``."""
        return self.base.fold_in(items, ratings, recency)

    # -- stage 2 ---------------------------------------------------------------------------------

    def _blend(self, ease: np.ndarray, als: np.ndarray) -> np.ndarray:
        return _standardise(ease) + self.config.als_weight * _standardise(als)

    def rerank(self, items: np.ndarray, ratings: np.ndarray, cand: np.ndarray, k: int,
               cand_scores: np.ndarray | None = None,
               recency: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Order retrieved candidates by the blended score; the best ``k`` (indices, scores).

        ``cand`` are the retriever's unseen candidates, ``cand_scores`` their inner products
        (recomputed from the fold-in when not given). Ties keep the retriever's order.
        """
        cand = np.asarray(cand, dtype=np.int64)
        if len(cand) == 0:
            return cand, np.empty(0, np.float32)
        items = np.asarray(items, dtype=np.int64)
        if cand_scores is None:
            cand_scores = self.item_factors[cand] @ self.fold_in(items, ratings, recency)
        ease = self.ease.score_targets(items, ratings, cand) if len(items) \
            else np.zeros(len(cand))
        blended = self._blend(ease, np.asarray(cand_scores, dtype=np.float64))
        order = np.argsort(-blended, kind="stable")[:k]
        return cand[order], blended[order].astype(np.float32)

    def _retrieve(self, items: np.ndarray, als: np.ndarray) -> np.ndarray:
        return top_k(als, min(self.n_candidates, self.n_items), exclude=items)

    def score_history(self, items: np.ndarray, ratings: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        als = (self.item_factors @ self.fold_in(items, ratings, recency)).astype(np.float64)
        cand = self._retrieve(items, als)
        ease = self.ease.score_history(items, ratings)[cand] if len(items) else np.zeros(len(cand))
        return self._full(als, cand, self._blend(ease, als[cand]))

    @staticmethod
    def _full(als: np.ndarray, cand: np.ndarray, blended: np.ndarray) -> np.ndarray:
        """Candidates keep their blended score; every other item ranks below them in ALS order."""
        out = np.empty(len(als), dtype=np.float64)
        rest = np.ones(len(als), dtype=bool)
        rest[cand] = False
        floor = (blended.min() if len(blended) else 0.0) - 1.0
        if rest.any():
            r = als[rest]
            span = r.max() - r.min()
            out[rest] = floor - (r.max() - r) / (span if span > 0 else 1.0)
        out[cand] = blended
        return out.astype(np.float32)

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        ratings = ratings.tocsr()
        als = (self.base.fold_in_rows(ratings) @ self.item_factors.T).astype(np.float64)
        ease = self.ease.score_users(ratings)
        out = np.empty(als.shape, dtype=np.float32)
        for u in range(ratings.shape[0]):
            seen = ratings.indices[ratings.indptr[u]:ratings.indptr[u + 1]]
            cand = self._retrieve(seen, als[u])
            out[u] = self._full(als[u], cand, self._blend(ease[u, cand], als[u, cand]))
        return out

    def contributions(self, items: np.ndarray, ratings: np.ndarray, targets: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        """items × targets: each rated item's exact share of the blended score (up to the shift).

        s_i = Σⱼ (eⱼᵢ/σ_E + w·aⱼᵢ/σ_A) − const, with eⱼᵢ = xⱼBⱼᵢ, aⱼᵢ the ALS decomposition and σ
        the spreads over the user's candidate set.
        """
        items = np.asarray(items, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        als = (self.item_factors @ self.fold_in(items, ratings, recency)).astype(np.float64)
        cand = self._retrieve(items, als)
        ease = self.ease.score_history(items, ratings)[cand]
        sd_e = float(ease.std()) or 1.0
        sd_a = float(als[cand].std()) or 1.0
        e = self.ease.contributions(items, ratings, targets)
        a = self.base.contributions(items, ratings, targets, recency)
        return e / sd_e + self.config.als_weight * a / sd_a

    # -- persistence -----------------------------------------------------------------------------

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"als_{k}": v for k, v in self.base.arrays().items()}
        out.update({f"ease_{k}": v for k, v in self.ease.arrays().items()})
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.base.load_arrays({k[4:]: v for k, v in arrays.items() if k.startswith("als_")})
        self.ease.load_arrays({k[5:]: v for k, v in arrays.items() if k.startswith("ease_")})
        self.n_items = self.base.n_items

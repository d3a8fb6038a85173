"""ALS matrix factorisation (implicit's CPU solver) with an exact one-user fold-in."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from recsys_tui.models.als_fit import SweepInfo, sweeps
from recsys_tui.models.als_rows import NotPositiveDefinite, solve_rows
from recsys_tui.models.base import EmbeddingModel, ModelError
from recsys_tui.models.params import param
from recsys_tui.models.weighting import Weighting

SPLIT_FROM = 128
"""From this many batch entries on, a history's batch part of the normal equations is kept."""
KEPT_HISTORIES = 64
"""How many batch parts are kept (least recently used dropped; 2 × f×f float64 each)."""


def _same(kept: np.ndarray | None, given: object) -> bool:
    """Is ``given`` the array ``kept`` holds (same shape and values; both None counts)?"""
    if kept is None or given is None:
        return kept is None and given is None
    given = np.asarray(given)
    return kept.shape == given.shape and bool(np.array_equal(kept, given))


@dataclass(frozen=True)
class ALSParams:
    """ALS hyper-parameters (defaults tuned by ``recsys-tui tune --model als`` and ``--online``)."""

    factors: int = param(64, 1, 1024)
    """Embedding size f (the fold-in solves an f×f system; memory grows with f × (users + items))."""
    regularization: float = param(67.5, 0.0, 1e6)
    """λ, the ridge penalty on user and item vectors (higher: steadier lists, slower adaptation)."""
    iterations: int = param(30, 1, 1000)
    """Alternating sweeps of the batch fit."""
    alpha: float = param(0.9, 0.0, 1e4, lo_open=True)
    """Confidence scale: c = alpha · v (``models.weighting``)."""
    scheme: str = param("rating", choices=("rating", "binary"))
    """v = the stars (``rating``) or 1 (``binary``)."""
    user_idf: bool = param(True)
    """Multiply a user's confidences by ln N − ln(1 + n_u) (rarer raters weigh more)."""
    bm25: bool = param(False)
    """Damp long histories and popular items with BM25 (``bm25_k1``, ``bm25_b``)."""
    bm25_k1: float = param(100.0, 0.0, 1e6)
    """BM25 saturation K1 (only with ``bm25``)."""
    bm25_b: float = param(0.8, 0.0, 1.0)
    """BM25 length normalisation B (only with ``bm25``)."""
    negative_below: float = param(1.0, 0.0, 5.0)
    """Ratings at or below this are dislikes: preference 0 (they never promote the film)."""
    negative_weight: float = param(1.0, 1.0, 1e4)
    """Confidence of a dislike (1 = exactly as if unrated)."""
    online_weight: float = param(64.0, 1.0, 1e4)
    """An online rating's confidence multiplier at recency 0 (1 = like a batch rating)."""
    online_decay: float = param(0.7, 0.0, 1.0, lo_open=True)
    """Per-newer-event fade of ``online_weight`` (1 = never fades)."""
    use_cg: bool = param(True)
    """Conjugate-gradient solver (else Cholesky) in the batch fit."""
    random_state: int = param(0, 0, 2**32 - 1)
    """Seed of the item/user vector initialisation."""


class ALSRecommender(EmbeddingModel):
    """Hu–Koren–Volinsky implicit ALS, 64 factors, per-user-IDF rating confidences.

    Confidence of a rating r by a user with n_u positive ratings (``models.weighting``):
    c = 0.9 · r · (ln N_items − ln(1 + n_u)); defaults tuned on a validation split carved from the
    training part (``recsys-tui tune --model als``).

    Low ratings: ``negative_below=1`` turns a 1-star rating into preference 0 held with confidence
    ``negative_weight`` (1 = exactly as if unrated), so a 1-star rating never pulls the user's
    vector, and hence the recommendations, towards that film; it only marks the film as seen.
    Ratings of 2 stars and up stay (weak) positives: under the stratified protocol every held-out
    rating counts as relevant, and a 2-star film still says what the user chooses to watch.

    Online events (``models.weighting``): a positive entry given online (in the app, the CLI or the
    replay, after the batch fit) with recency k (k of the user's logged items are newer) carries
    max(1, online_weight · online_decay^k) × its confidence. Batch data has none, so the offline fit
    does not depend on them; ``fit(ratings, recency=…)`` weights logged ratings the same way in a
    retrain.

    ``fold_in`` re-solves one user's vector against the fixed item factors from the user's full
    history: the same normal equations implicit's Cholesky solver builds (so it equals
    ``AlternatingLeastSquares.recalculate_user``). After fitting, ``user_factors`` are re-solved the
    same way against the final item factors, so a stored user vector *is* that user's fold-in.
    """

    name = "als"
    Params = ALSParams
    weighs_online_recency: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        c: ALSParams = self.config
        self.weighting = Weighting(
            scheme=c.scheme, alpha=c.alpha, bm25=c.bm25, k1=c.bm25_k1, b=c.bm25_b,
            user_idf=c.user_idf, negative_below=c.negative_below, negative_weight=c.negative_weight,
            online_weight=c.online_weight, online_decay=c.online_decay,
        )
        self.item_factors = np.zeros((0, c.factors), dtype=np.float32)
        self.user_factors = np.zeros((0, c.factors), dtype=np.float32)
        self._gram: np.ndarray | None = None
        self._memo: tuple | None = None
        self._kept: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.fit_info: SweepInfo | None = None
        """Where the last ``fit``'s time went (``models.als_fit.SweepInfo``; "resolve": the re-solve)."""

    def fit(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None) -> ALSRecommender:
        """Fit on a users × items CSR of stars; ``recency`` (one int per stored entry, aligned with
        ``ratings.data``; −1 = batch) weights entries given online (``Weighting.online_multiplier``)."""
        c: ALSParams = self.config
        self.n_items = ratings.shape[1]
        if recency is not None and len(recency) != ratings.nnz:
            raise ModelError(f"als: recency has {len(recency)} entries for {ratings.nnz} ratings")
        self.weighting.fit(ratings)
        ratings = ratings.tocsr()
        signed = self.weighting.confidences(ratings, recency)  # once, for the fit and the re-solve
        conf = sp.csr_matrix((signed.astype(np.float32), ratings.indices, ratings.indptr),
                             shape=ratings.shape)
        self.fit_info = SweepInfo()
        try:  # implicit's kernels, every core (num_threads 0), one BLAS thread (``models.als_fit``)
            _, items = sweeps(conf, c.factors, c.regularization, c.iterations, c.random_state,
                              num_threads=0, use_cg=c.use_cg, info=self.fit_info)
        except ArithmeticError as e:
            raise ModelError(f"als: {e}") from None
        del conf
        self.item_factors = np.ascontiguousarray(items, dtype=np.float32)
        self._forget()
        clock = time.perf_counter(), time.process_time()
        self.user_factors = self.fold_in_rows(ratings, recency, signed)
        self.fit_info.parts["resolve"] = (time.perf_counter() - clock[0], time.process_time() - clock[1])
        return self

    def fit_timings(self) -> dict[str, float]:
        """``als_<part>_s`` / ``als_<part>_cpu_s`` of the last fit: transpose, init, user_sweeps,
        item_sweeps, resolve (wall and process CPU seconds; ``models.als_fit.SweepInfo``)."""
        info = self.fit_info
        return {f"als_{key}": value for key, value in info.totals().items()} if info is not None else {}

    @property
    def gram(self) -> np.ndarray:
        """YᵀY + λI in float64, cached: the part of the normal equations shared by every user."""
        if self._gram is None:
            y = self.item_factors.astype(np.float64)
            self._gram = y.T @ y + self.config.regularization * np.eye(y.shape[1])
        return self._gram

    def _system(self, items: np.ndarray, ratings: np.ndarray, recency: np.ndarray | None,
                keep: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The user's normal equations: (signed confidences, item vectors, A), where
        A = YᵀY + λI + Yᵀ(|C| − I)Y. The last history's system is kept (compared by content), so
        ``contributions`` right after ``fold_in`` of the same history builds nothing again; with
        ``keep`` a long history's batch part is kept too (``_split``)."""
        memo = self._memo
        if memo is not None and _same(memo[0], items) and _same(memo[1], ratings) \
                and _same(memo[2], recency):
            return memo[3]
        conf = self.weighting.row(items, ratings, recency)
        y = self.item_factors[items].astype(np.float64)
        a = self._split(items, ratings, recency, conf, y) if keep else None
        system = (conf, y, self.gram + (y.T * (np.abs(conf) - 1.0)) @ y if a is None else a)
        self._memo = (items.copy(), np.array(ratings, copy=True),
                      None if recency is None else np.array(recency, copy=True), system)
        return system

    def _split(self, items: np.ndarray, ratings: np.ndarray, recency: np.ndarray | None,
               conf: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """A in two parts, for a history with ``SPLIT_FROM`` or more batch entries (recency < 0):

        A = (YᵀY + λI + Y_bᵀD_bY_b) + s·Y_bᵀB_bY_b + Y_oᵀ(|C_o| − I)Y_o, where b are the batch
        entries (D: −1 per positive, negative_weight − 1 per negative; B: base confidences of the
        positives; s: the user scale, ``Weighting.parts``) and o the online ones. The two batch
        sums are kept per batch history, so an event of a long history costs one f×f update and a
        product over its online entries, not a product over every entry. Equal to the one-sum A
        up to rounding (float64). None when the history is short or the weighting has no parts.
        """
        batch = np.ones(len(items), bool) if recency is None else np.asarray(recency) < 0
        if np.count_nonzero(batch) < SPLIT_FROM or (parts := self.weighting.parts(ratings)) is None:
            return None
        scale, base, negative = parts
        key = items[batch].tobytes() + np.asarray(ratings, np.float64)[batch].tobytes()
        kept = self._kept.get(key)
        if kept is None:
            yb, positive = y[batch], ~negative[batch]
            d = np.where(positive, -1.0, self.weighting.negative_weight - 1.0)
            kept = (self.gram + (yb.T * d) @ yb, (yb.T * np.where(positive, base[batch], 0.0)) @ yb)
            self._kept[key] = kept
            if len(self._kept) > KEPT_HISTORIES:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(key)
        online = ~batch
        yo = y[online]
        return kept[0] + scale * kept[1] + (yo.T * (np.abs(conf[online]) - 1.0)) @ yo

    def fold_in(self, items: np.ndarray, ratings: np.ndarray,
                recency: np.ndarray | None = None) -> np.ndarray:
        """Exact ALS user step for this history (``recency``: optional, −1 = batch entry)."""
        items = np.asarray(items, dtype=np.int64)
        if len(items) == 0:
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        return self._solve(*self._system(items, ratings, recency))

    @staticmethod
    def _solve(conf: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.linalg.solve(a, y.T @ np.where(conf > 0, conf, 0.0)).astype(np.float32)

    def contributions(self, items: np.ndarray, ratings: np.ndarray, targets: np.ndarray,
                      recency: np.ndarray | None = None) -> np.ndarray:
        """items × targets: rated item j's exact share cⱼ⁺·yᵢᵀA⁻¹yⱼ of each target's score yᵢᵀx
        (one solve for all targets, one matrix product for all terms)."""
        items = np.asarray(items, dtype=np.int64)
        conf, y, a = self._system(items, ratings, recency)
        w = np.linalg.solve(a, self.item_factors[np.asarray(targets, dtype=np.int64)].astype(np.float64).T)
        return (y @ w) * np.where(conf > 0, conf, 0.0)[:, None]

    def fold_in_rows(self, ratings: sp.csr_matrix, recency: np.ndarray | None = None,
                     confidences: np.ndarray | None = None) -> np.ndarray:
        """``fold_in`` of every row of a users × items rating matrix (rows × factors).

        The same normal equations as ``fold_in``, in float64, built and solved for many users at
        once (``models.als_rows``: rows bucketed by length, A = YᵀY + λI + Yᵤᵀ(|Cᵤ| − 1)Yᵤ and
        b = Yᵤᵀ Cᵤ⁺ by stacked matrix products, stacked Cholesky; A is positive definite when λ > 0,
        since |c| − 1 ≥ −1). ``confidences``: ``Weighting.confidences(ratings, recency)`` when the
        caller has them.
        """
        ratings = ratings.tocsr()
        if ratings.nnz == 0:
            return np.zeros((ratings.shape[0], self.item_factors.shape[1]), np.float32)
        conf = self.weighting.confidences(ratings, recency) if confidences is None else confidences
        try:
            return solve_rows(ratings, np.asarray(conf, np.float64), self.item_factors.astype(np.float64),
                              self.gram, definite=self.config.regularization > 0)
        except NotPositiveDefinite as e:
            raise ModelError(f"als: the fold-in of row {e.row} is not positive definite") from None

    def score_users(self, ratings: sp.csr_matrix) -> np.ndarray:
        return self.fold_in_rows(ratings) @ self.item_factors.T

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "idf": np.asarray(self.weighting.idf, dtype=np.float64),
            "avg_len": np.array([self.weighting.avg_len]),
            "user_idf": np.array([int(self.weighting.user_idf)]),
            "online_weight": np.array([self.weighting.online_weight, self.weighting.online_decay]),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        # no copy when the file holds float32 (a mapped artifact stays mapped: nothing writes factors)
        self.user_factors = arrays["user_factors"].astype(np.float32, copy=False)
        self.item_factors = arrays["item_factors"].astype(np.float32, copy=False)
        self.weighting.idf = arrays["idf"].astype(np.float64)
        self.weighting.avg_len = float(arrays["avg_len"][0])
        self.n_items = self.weighting.n_items = self.item_factors.shape[0]
        # versions published before the per-user IDF existed have no flag: they were trained without
        self.weighting.user_idf = bool(arrays["user_idf"][0]) if "user_idf" in arrays else False
        # versions published before online weighting existed folded logged ratings in at weight 1
        online = arrays["online_weight"] if "online_weight" in arrays else np.array([1.0, 1.0])
        self.weighting.online_weight, self.weighting.online_decay = float(online[0]), float(online[1])
        self.config = replace(self.config, user_idf=self.weighting.user_idf,
                              online_weight=float(online[0]), online_decay=float(online[1]))
        self.params = asdict(self.config)
        self._forget()

    def _forget(self) -> None:
        """Drop every cached part of the normal equations (new item factors or weights)."""
        self._gram = self._memo = None
        self._kept.clear()

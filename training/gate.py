"""The publish sanity gate: a model is published only if it is fit to serve.

Three checks, all before anything is written (a refusal leaves ``CURRENT`` unchanged):

1. minimum data — at least ``MIN_RATINGS`` ratings by ``MIN_USERS`` users on ``MIN_ITEMS`` items;
2. finite, non-degenerate state — every learned float array finite and not all zero, and the
   probe's scores finite and not all equal;
3. a quick offline check against the previous version — leave-one-out HR@10 on up to
   ``PROBE_USERS`` users (one random training item hidden, the rest folded in); when the current
   version is the same kind of model, the new one must reach ``MIN_RATIO`` of its hit rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.models.base import top_k
from recsys_tui.models.bundle import TrainedModel

MIN_RATINGS = 100
MIN_USERS = 10
MIN_ITEMS = 10
PROBE_USERS = 200
PROBE_K = 10
MIN_RATIO = 0.5
"""The new model must keep at least half the previous same-kind model's probe hit rate."""
MIN_COMPARABLE_HR = 0.02
"""Below this the previous model's hit rate is noise; no ratio is enforced."""


class GateError(RecsysError):
    """A trained model is unfit to publish (the message says which check failed)."""


@dataclass(frozen=True)
class GateReport:
    """What the gate measured (kept in the new version's manifest)."""

    probe_users: int
    hr10: float
    previous_version: str | None
    previous_hr10: float | None

    def to_json(self) -> dict:
        return {"probe_users": self.probe_users, "hr10": round(self.hr10, 4),
                "previous_version": self.previous_version,
                "previous_hr10": None if self.previous_hr10 is None else round(self.previous_hr10, 4)}


def check_data(trained: TrainedModel) -> None:
    """Refuse too little data to learn from."""
    n_ratings, n_users = trained.train.nnz, trained.train.shape[0]
    n_items = int(np.count_nonzero(np.bincount(trained.train.indices, minlength=trained.train.shape[1])))
    if n_ratings < MIN_RATINGS or n_users < MIN_USERS or n_items < MIN_ITEMS:
        raise GateError(f"refusing to publish: {n_ratings} ratings by {n_users} users on {n_items} items "
                        f"is too little data (need ≥ {MIN_RATINGS} ratings, {MIN_USERS} users, "
                        f"{MIN_ITEMS} items)")


def check_state(trained: TrainedModel) -> None:
    """Refuse NaN/inf or all-zero learned arrays."""
    for name, arr in trained.model.arrays().items():
        arr = np.asarray(arr)
        if arr.dtype.kind not in "fc" or arr.size == 0:
            continue
        if not np.isfinite(arr).all():
            bad = int((~np.isfinite(arr)).sum())
            raise GateError(f"refusing to publish {trained.name}: {bad:,} non-finite values in {name} "
                            "(check the -p parameters)")
        if not arr.any():
            raise GateError(f"refusing to publish {trained.name}: {name} is all zeros (degenerate fit)")


def _probe(trained: TrainedModel, users: np.ndarray, hidden: np.ndarray) -> float:
    """Leave-one-out HR@10 of ``trained`` for raw ``users`` with one raw item each ``hidden``."""
    hits = 0
    for user, item in zip(users, hidden, strict=True):
        rows, ratings = trained.history(int(user))
        col = trained.items.index(int(item))
        keep = rows != col
        rows, ratings = rows[keep], ratings[keep]
        if col is None or not len(rows):
            continue
        scores = np.asarray(trained.model.score_history(rows, ratings), dtype=np.float64)
        if not np.isfinite(scores).all():
            raise GateError(f"refusing to publish {trained.name}: it scores non-finite values")
        hits += col in top_k(scores, PROBE_K, exclude=rows)
    return hits / max(len(users), 1)


def probe_sample(trained: TrainedModel, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``PROBE_USERS`` raw user ids with ≥ 5 training items, and one raw item each to hide."""
    counts = np.diff(trained.train.indptr)
    rows = np.flatnonzero(counts >= 5)
    rng = np.random.default_rng(seed)
    rows = rng.choice(rows, size=min(PROBE_USERS, len(rows)), replace=False) if len(rows) else rows
    hidden = []
    for row in rows:
        lo, hi = trained.train.indptr[row], trained.train.indptr[row + 1]
        hidden.append(trained.items.ids[trained.train.indices[rng.integers(lo, hi)]])
    return trained.users.ids[rows], np.asarray(hidden, dtype=np.int64)


def check_scores_vary(trained: TrainedModel, users: np.ndarray) -> None:
    """Refuse a model that gives every item the same score (nothing to rank)."""
    if not len(users):
        return
    rows, ratings = trained.history(int(users[0]))
    scores = np.asarray(trained.model.score_history(rows, ratings), dtype=np.float64)
    if not np.isfinite(scores).all():
        raise GateError(f"refusing to publish {trained.name}: it scores non-finite values")
    if np.ptp(scores) == 0:
        raise GateError(f"refusing to publish {trained.name}: every item gets the same score")


def gate(trained: TrainedModel, previous: TrainedModel | None = None,
         previous_version: str | None = None) -> GateReport:
    """Run every check; raise ``GateError`` on the first that fails, else report the numbers."""
    check_data(trained)
    check_state(trained)
    users, hidden = probe_sample(trained)
    check_scores_vary(trained, users)
    hr = _probe(trained, users, hidden)
    prev_hr = None
    if previous is not None and previous.name == trained.name:
        prev_hr = _probe(previous, users, hidden)
        if prev_hr >= MIN_COMPARABLE_HR and hr < MIN_RATIO * prev_hr:
            raise GateError(f"refusing to publish {trained.name}: leave-one-out HR@{PROBE_K} {hr:.3f} on "
                            f"{len(users)} users is below {MIN_RATIO:.0%} of the current version "
                            f"{previous_version}'s {prev_hr:.3f}")
    return GateReport(len(users), hr, previous_version if prev_hr is not None else None, prev_hr)

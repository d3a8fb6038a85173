"""Online scorers for the prequential replay, beyond the engine's own fold-in path.

Each scorer keeps a small per-user state that is updated after every event the replay records
through the engine (so the event log and the feature store see the same stream). Item indices are
the published model's item vocabulary (the catalogue, sorted by id). Parameters were tuned on a
validation part carved from the *training* period only (docs/METHOD.md, "Prequential replay").

- ``OnlineEASE``: s_u ← decay·s_u + w(r)·B[i] (one row of Steck's EASE item–item matrix per rating).
- ``OnlineTransitions``: "what do people rate right after j" (sequential co-occurrence, online).
- ``DecayedPopularity``: item counts with an exponential time decay.
- ``blend``: z-scored weighted sum of ready components plus a popularity prior that fades as the
  user's history grows.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from recsys_tui.data.movielens import Interactions

EASE_PARAMS = {"l2": 400.0, "negative_max": 2.0, "negative_weight": 0.5, "decay": 0.85}
TRANSITION_PARAMS = {"window": 8, "decay_w": 0.85, "sym": 1.0, "last": 8, "decay_l": 0.7, "beta": 100.0}
BLEND_PARAMS = {"w_foldin": 1.0, "w_ease": 3.0, "w_trans": 3.0, "pop_w": 0.5, "n0": 10.0,
                "pop_tau_days": 30.0}


def _by_user(users: np.ndarray, ts: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(user, row positions in time order) for every user of a block of events."""
    order = np.lexsort((np.arange(len(users)), ts, users))
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]]) if len(order) else []
    bounds = [*starts, len(order)]
    return [(int(sorted_users[a]), order[a:b]) for a, b in pairwise(bounds)]


class OnlineEASE:
    """EASE scores of the user's history with recency decay; one row of ``B`` added per rating.

    After a user's n-th event the score vector is Σ_j decay^(n−1−pos_j) · w(r_j) · B[j], with
    w(r) = ``negative_weight`` for ratings ≤ ``negative_max`` and 1 otherwise. The user is *ready*
    once they have one positive rating (before that the caller falls back to popularity).
    """

    def __init__(self, B: np.ndarray, train: Interactions, item_index: dict[int, int],
                 negative_max: float = 2.0, negative_weight: float = 0.5, decay: float = 0.85) -> None:
        self.B = np.ascontiguousarray(B, dtype=np.float32)
        self.item_index = item_index
        self.negative_max, self.negative_weight, self.decay = negative_max, negative_weight, decay
        self.scores_of: dict[int, np.ndarray] = {}
        self.n_pos: dict[int, int] = {}
        for user, rows in _by_user(train.user_ids, train.timestamps):
            idx = np.array([item_index.get(int(i), -1) for i in train.item_ids[rows]])
            ok = idx >= 0
            r = train.ratings[rows][ok]
            w = self._weight(r) * decay ** np.arange(int(ok.sum()) - 1, -1, -1, dtype=np.float64)
            self.scores_of[user] = (w.astype(np.float32) @ self.B[idx[ok]]) if ok.any() \
                else np.zeros(self.B.shape[0], np.float32)
            self.n_pos[user] = int((r > negative_max).sum())

    def _weight(self, r: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(r) <= self.negative_max, self.negative_weight, 1.0)

    def ready(self, user: int) -> bool:
        return self.n_pos.get(user, 0) > 0

    def scores(self, user: int) -> np.ndarray:
        return self.scores_of[user]

    def update(self, user: int, item: int, rating: float) -> None:
        j = self.item_index.get(item)
        s = self.scores_of.get(user)
        if s is None:
            s = self.scores_of[user] = np.zeros(self.B.shape[0], np.float32)
        if self.decay != 1.0:
            s *= self.decay
        if j is None:
            return
        w = self.negative_weight if rating <= self.negative_max else 1.0
        if w:
            s += np.float32(w) * self.B[j]
        if rating > self.negative_max:
            self.n_pos[user] = self.n_pos.get(user, 0) + 1


class OnlineTransitions:
    """Sequential co-occurrence learned online.

    ``T[j, i]`` accumulates decay_w^(d−1) whenever i was rated d ≤ ``window`` events after j by the
    same user (``sym`` adds the reverse direction). A user scores
    Σ_{k<last} decay_l^k · T[h_{−1−k}] / (rowsum T[h_{−1−k}] + beta) over their latest items.
    """

    def __init__(self, n_items: int, train: Interactions, item_index: dict[int, int], window: int = 8,
                 decay_w: float = 0.85, sym: float = 1.0, last: int = 8, decay_l: float = 0.7,
                 beta: float = 100.0) -> None:
        self.item_index = item_index
        self.window, self.decay_w, self.sym = window, decay_w, sym
        self.last, self.decay_l, self.beta = last, decay_l, beta
        self.T = np.zeros((n_items, n_items), np.float32)
        self.row = np.zeros(n_items, np.float64)
        self.hist: dict[int, list[int]] = {}
        order = np.argsort(train.timestamps, kind="stable")
        for u, i in zip(train.user_ids[order].tolist(), train.item_ids[order].tolist(), strict=True):
            self.update(u, i, 0.0)

    def ready(self, user: int) -> bool:
        return bool(self.hist.get(user))

    def scores(self, user: int) -> np.ndarray:
        s = np.zeros(self.T.shape[1], np.float32)
        w = 1.0
        for j in self.hist.get(user, [])[-1:-self.last - 1:-1]:
            if self.row[j] > 0:
                s += np.float32(w / (self.row[j] + self.beta)) * self.T[j]
            w *= self.decay_l
        return s

    def update(self, user: int, item: int, rating: float) -> None:
        i = self.item_index.get(item)
        if i is None:
            return
        h = self.hist.setdefault(user, [])
        w = 1.0
        for j in h[-1:-self.window - 1:-1]:
            self.T[j, i] += w
            self.row[j] += w
            if self.sym:
                self.T[i, j] += self.sym * w
                self.row[i] += self.sym * w
            w *= self.decay_w
        h.append(i)


class DecayedPopularity:
    """log(1 + Σ exp((t − t_ref)/τ)) per item: what is popular *lately*."""

    def __init__(self, n_items: int, train: Interactions, item_index: dict[int, int],
                 tau_days: float = 30.0) -> None:
        self.item_index = item_index
        self.tau = tau_days * 86400.0
        self.t_ref = float(train.timestamps.max()) if len(train) else 0.0
        idx = np.array([item_index.get(int(i), -1) for i in train.item_ids])
        ok = idx >= 0
        w = np.exp((train.timestamps[ok].astype(np.float64) - self.t_ref) / self.tau)
        self.counts = np.bincount(idx[ok], weights=w, minlength=n_items)

    def scores(self) -> np.ndarray:
        return np.log1p(self.counts)

    def update(self, item: int, ts: int) -> None:
        j = self.item_index.get(item)
        if j is None:
            return
        w = np.exp((ts - self.t_ref) / self.tau)
        if w > 1e50:  # rescale to keep the numbers finite
            self.counts /= w
            self.t_ref, w = float(ts), 1.0
        self.counts[j] += w


def zscore(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    sd = s.std()
    return (s - s.mean()) / sd if sd > 0 else s - s.mean()


def blend(parts: list[tuple[np.ndarray | None, float]], popularity: np.ndarray, n_user: int,
          pop_w: float = 0.5, n0: float = 10.0) -> np.ndarray:
    """Σ w·z(s) over ready parts (``None`` = not ready) + pop_w·n0/(n0+n_user)·z(popularity).

    With no ready part the result is popularity alone.
    """
    total = None
    for scores, w in parts:
        if scores is not None and w:
            z = w * zscore(scores)
            total = z if total is None else total + z
    if total is None:
        return np.asarray(popularity, dtype=np.float64)
    if pop_w:
        total = total + pop_w * (n0 / (n0 + n_user) if n0 > 0 else 1.0) * zscore(popularity)
    return total

"""Deterministic train/test splits (docs/METHOD.md §5)."""

from __future__ import annotations

import numpy as np
from recsys_tui.data.movielens import Interactions


def stratified_split(
    inter: Interactions, test_fraction: float = 0.25, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """Per user, a random ``1 - test_fraction`` of their rows train and the rest test.

    A user's train count is ``round((1 - test_fraction) * n)``, kept within [1, n - 1] when the
    user has two or more rows, so every such user has something to learn from and to be tested on.
    """
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    users = inter.user_ids
    keys = rng.random(len(users))
    order = np.lexsort((keys, users))
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    n_train = np.rint((1 - test_fraction) * counts).astype(np.int64)
    n_train = np.where(counts >= 2, np.clip(n_train, 1, counts - 1), counts)
    rank = np.arange(len(users)) - np.repeat(starts, counts)
    is_train_sorted = rank < np.repeat(n_train, counts)
    is_train = np.empty(len(users), dtype=bool)
    is_train[order] = is_train_sorted
    return inter.take(np.flatnonzero(is_train)), inter.take(np.flatnonzero(~is_train))


def temporal_split(
    inter: Interactions, train_fraction: float = 0.8
) -> tuple[Interactions, Interactions]:
    """The first ``train_fraction`` of all rows by time train, the rest test (ties keep file order)."""
    if not 0 < train_fraction < 1:
        raise ValueError("train_fraction must be between 0 and 1")
    order = np.argsort(inter.timestamps, kind="stable")
    cut = int(np.floor(train_fraction * len(order)))
    return inter.take(order[:cut]), inter.take(order[cut:])

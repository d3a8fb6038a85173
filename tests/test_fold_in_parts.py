"""A long history's normal equations summed in two parts (batch part kept, online part per call)
equal the one-sum system, and what is kept follows the model (issue 14, fold-in step)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from recsys_tui.models.als import KEPT_HISTORIES, SPLIT_FROM, ALSRecommender


@pytest.fixture(scope="module")
def model() -> ALSRecommender:
    rng = np.random.default_rng(7)
    users, items = 60, 400
    dense = np.where(rng.random((users, items)) < 0.2, rng.integers(1, 6, (users, items)), 0)
    return ALSRecommender(factors=16, iterations=3).fit(sp.csr_matrix(dense.astype(np.float32)))


def history(n: int, online: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = np.sort(rng.choice(400, n, replace=False)).astype(np.int64)
    ratings = rng.integers(1, 6, n).astype(np.float32)  # 1-star entries are dislikes
    recency = np.full(n, -1, np.int64)
    recency[rng.choice(n, online, replace=False)] = np.arange(online)
    return items, ratings, recency


def one_sum(model: ALSRecommender, items, ratings, recency) -> tuple[np.ndarray, np.ndarray]:
    conf = model.weighting.row(items, ratings, recency)
    y = model.item_factors[items].astype(np.float64)
    a = model.gram + (y.T * (np.abs(conf) - 1.0)) @ y
    return a, np.linalg.solve(a, y.T @ np.where(conf > 0, conf, 0.0))


@pytest.mark.parametrize("online", [0, 1, 20])
def test_the_two_part_system_is_the_one_sum_system(model, online):
    items, ratings, recency = history(SPLIT_FROM + 40, online)
    model._forget()
    _, _, a = model._system(items, ratings, recency)
    assert len(model._kept) == 1  # long enough: the batch part was kept
    expected, vector = one_sum(model, items, ratings, recency)
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(model.fold_in(items, ratings, recency), vector, rtol=1e-5, atol=1e-6)


def test_the_kept_part_serves_the_next_event_and_a_short_history_keeps_nothing(model):
    model._forget()
    items, ratings, recency = history(SPLIT_FROM + 10, 5)
    first = model.fold_in(items, ratings, recency)
    kept = next(iter(model._kept.values()))
    model._memo = None  # the same history again: the kept part is used, not rebuilt
    np.testing.assert_array_equal(model.fold_in(items, ratings, recency), first)
    assert next(iter(model._kept.values())) is kept and len(model._kept) == 1
    # the next event: a newer online entry, every online entry one step older; batch part unchanged
    recency = np.where(recency >= 0, recency + 1, -1)
    recency[np.flatnonzero(recency < 0)[0]] = 0
    again = model.fold_in(items, ratings, recency)
    assert len(model._kept) == 2  # one batch entry went online: another batch part
    model.fold_in(items, ratings, np.full(len(items), -1))
    assert len(model._kept) == 3  # an all-batch history is a third
    np.testing.assert_allclose(again, one_sum(model, items, ratings, recency)[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, again)
    model._forget()
    short = history(SPLIT_FROM - 1, 3)
    model.fold_in(*short)
    assert len(model._kept) == 0


def test_kept_parts_are_bounded_and_dropped_with_new_factors(model):
    model._forget()
    for seed in range(KEPT_HISTORIES + 5):
        model.fold_in(*history(SPLIT_FROM + 2, 2, seed))
    assert len(model._kept) == KEPT_HISTORIES
    model.load_arrays(model.arrays())
    assert len(model._kept) == 0 and model._memo is None


def test_batch_fold_in_of_every_row_keeps_nothing(model):
    model._forget()
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((3, 400)) < 0.5, rng.integers(1, 6, (3, 400)), 0).astype(np.float32)
    rows = model.fold_in_rows(sp.csr_matrix(dense))
    assert len(model._kept) == 0
    for u in range(3):
        items = np.flatnonzero(dense[u])
        np.testing.assert_allclose(rows[u], model.fold_in(items, dense[u, items]), rtol=1e-5, atol=1e-6)

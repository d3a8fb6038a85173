"""The batched paths of a fit give the per-user results: ``Weighting.confidences`` equals ``row``
for every row, ``ALSRecommender.fold_in_rows`` equals ``fold_in`` for every user."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from recsys_tui.models import als_rows
from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.base import ModelError
from recsys_tui.models.weighting import Weighting


def _ratings(seed: int, users: int = 60, items: int = 90, half: bool = False) -> sp.csr_matrix:
    """Random histories of very different lengths, some users empty, 1–5 (or 0.5–5) stars."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(users):
        n = 0 if u % 11 == 3 else int(rng.integers(1, 70 if u % 5 else 6))
        rows += [u] * n
        cols += rng.choice(items, n, replace=False).tolist()
    stars = rng.integers(1, 11, len(rows)) / 2 if half else rng.integers(1, 6, len(rows)).astype(float)
    mat = sp.csr_matrix((stars, (rows, cols)), shape=(users, items), dtype=np.float32)
    mat.sort_indices()
    return mat


def _recency(mat: sp.csr_matrix, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(mat.nnz) < 0.3, rng.integers(0, 12, mat.nnz), -1)


def _per_row(w: Weighting, mat: sp.csr_matrix, recency: np.ndarray | None) -> np.ndarray:
    out = np.zeros(mat.nnz)
    for u in range(mat.shape[0]):
        lo, hi = mat.indptr[u], mat.indptr[u + 1]
        if hi > lo:
            out[lo:hi] = w.row(mat.indices[lo:hi], mat.data[lo:hi],
                               None if recency is None else recency[lo:hi])
    return out


@pytest.mark.parametrize(("scheme", "bm25", "user_idf", "negative_weight", "online", "half"),
                         list(itertools.product(("rating", "binary"), (False, True), (False, True),
                                                (1.0, 4.0), (False, True), (False, True))))
def test_confidences_equal_row_by_row(scheme, bm25, user_idf, negative_weight, online, half):
    mat = _ratings(1, half=half)
    w = Weighting(scheme=scheme, alpha=0.9, bm25=bm25, user_idf=user_idf, negative_below=1.0,
                  negative_weight=negative_weight, online_weight=8.0 if online else 1.0,
                  online_decay=0.7).fit(mat)
    recency = _recency(mat, 2) if online else None
    expected = _per_row(w, mat, recency)
    np.testing.assert_allclose(w.confidences(mat, recency), expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(w.matrix(mat, recency).data, expected.astype(np.float32))


def test_confidences_refuse_misaligned_recency():
    mat = _ratings(3)
    with pytest.raises(ValueError, match="recency has"):
        Weighting().fit(mat).confidences(mat, np.zeros(mat.nnz + 1, np.int64))


def _model(mat: sp.csr_matrix, seed: int, **params) -> ALSRecommender:
    model = ALSRecommender(factors=16, **params)
    model.item_factors = np.random.default_rng(seed).normal(0, 0.4, (mat.shape[1], 16)).astype(np.float32)
    model.weighting.fit(mat)
    return model


@pytest.mark.parametrize("params", [
    {},  # the defaults: per-user IDF, 1 star = as if unrated
    {"alpha": 0.2},  # many confidences below 1: entries of negative weight in the update
    {"alpha": 0.05, "user_idf": False, "scheme": "binary"},  # every entry below 1
    {"negative_weight": 6.0, "bm25": True, "regularization": 0.5},
])
@pytest.mark.parametrize("online", [False, True])
def test_fold_in_rows_equals_fold_in_of_every_user(params, online):
    mat = _ratings(4, half=bool(params))
    model = _model(mat, 5, **params)
    recency = _recency(mat, 6) if online else None
    batched = model.fold_in_rows(mat, recency)
    assert batched.shape == (mat.shape[0], 16) and batched.dtype == np.float32
    for u in range(mat.shape[0]):
        lo, hi = mat.indptr[u], mat.indptr[u + 1]
        one = model.fold_in(mat.indices[lo:hi], mat.data[lo:hi], None if recency is None else recency[lo:hi])
        np.testing.assert_allclose(batched[u], one, rtol=1e-5, atol=1e-6, err_msg=f"user {u}")
    assert not batched[3].any(), "an empty history folds in to the zero vector"


def test_fold_in_rows_of_an_empty_matrix_is_zero():
    mat = sp.csr_matrix((5, 90), dtype=np.float32)
    model = _model(_ratings(7), 8)
    assert not model.fold_in_rows(mat).any()


def _mixed(seed: int, users: int = 90, items: int = 700) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows of 0, 1, 2, … up to 600 entries (several of each length class), half stars with 1-star
    dislikes, and online recencies on ~30 % of the entries."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice([0, 1, 2, 3, 7, 19, 20, 24, 60, 150, 151, 600], users)
    lengths[:3] = (0, 600, 1)
    rows = np.repeat(np.arange(users), lengths)
    cols = np.concatenate([rng.choice(items, n, replace=False) for n in lengths])
    stars = rng.integers(1, 11, len(rows)) / 2
    stars[rng.random(len(rows)) < 0.15] = 1.0  # dislikes: negative confidences
    mat = sp.csr_matrix((stars, (rows, cols)), shape=(users, items), dtype=np.float32)
    mat.sort_indices()
    return mat, _recency(mat, seed + 1)


@pytest.mark.parametrize(("budget", "growth", "threads"), [
    (1 << 30, 1.25, 1),  # one bucket per length class
    (300_000, 1.25, 2),  # the memory bound splits the classes, two threads share the buckets
    (1, 1.0, 2),  # one row per bucket
    (1 << 30, 1e9, 1),  # everything in one bucket: short rows padded to the longest
])
@pytest.mark.parametrize("params", [{}, {"alpha": 0.2, "negative_weight": 3.0}])
@pytest.mark.parametrize("definite", [False, True])  # stacked Cholesky, or LAPACK gesv (λ > 0)
def test_bucketed_rows_equal_the_one_user_fold_in(budget, growth, threads, params, definite):
    mat, recency = _mixed(11)
    model = _model(mat, 12, **params)
    conf = model.weighting.confidences(mat, recency)
    assert (conf < 0).any() and ((np.abs(conf) - 1) < 0).any(), "dislikes and weights below zero"
    got = als_rows.solve_rows(mat, conf, model.item_factors.astype(np.float64), model.gram,
                              threads=threads, growth=growth, budget=budget, definite=definite)
    assert got.dtype == np.float32
    for u in range(mat.shape[0]):
        lo, hi = mat.indptr[u], mat.indptr[u + 1]
        one = model.fold_in(mat.indices[lo:hi], mat.data[lo:hi], recency[lo:hi])
        # float64 solves of the same system, each rounded to float32: equal up to that rounding
        np.testing.assert_allclose(got[u], one, rtol=0, atol=4 * np.spacing(np.abs(one).max() + 1e-30),
                                   err_msg=f"user {u} ({hi - lo} entries)")
    assert not got[0].any(), "an empty history folds in to the zero vector"
    assert got[1].any() and got[2].any()


def test_buckets_cover_every_row_within_growth_and_budget():
    lengths = np.sort(np.random.default_rng(3).integers(1, 5000, 3000))
    runs = als_rows.buckets(lengths, 64, growth=1.25, budget=8 << 20)
    assert runs[0][0] == 0 and runs[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs)), "contiguous, no row twice"
    for start, stop in runs:
        top = lengths[stop - 1]
        assert top <= 1.25 * lengths[start]
        assert stop - start == 1 or (stop - start) * (2 * top + 128) * 64 * 8 <= 8 << 20


def test_a_singular_system_names_its_row_on_the_definite_path_too():
    mat, _ = _mixed(13)
    model = _model(mat, 14, regularization=0.0)
    model.item_factors[:, 5] = 0.0  # a zero column and λ = 0: every A is singular
    model._forget()
    conf = model.weighting.confidences(mat)
    with pytest.raises(als_rows.NotPositiveDefinite):
        als_rows.solve_rows(mat, conf, model.item_factors.astype(np.float64), model.gram, definite=True)


def test_a_system_that_is_not_positive_definite_names_its_row():
    mat, _ = _mixed(13)
    model = _model(mat, 14, regularization=0.0)
    model.item_factors[:, 5] = 0.0  # λ = 0 and a zero column: every A is singular
    model._forget()
    with pytest.raises(ModelError, match=r"fold-in of row \d+ is not positive definite"):
        model.fold_in_rows(mat)

"""The norm-ordered exact search (``core.norm_scan``) gives the brute-force top-k, reads less."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.core.norm_scan import BLOCK, NormOrderedScan


def _brute(vectors: np.ndarray, q: np.ndarray, k: int, exclude: np.ndarray) -> np.ndarray:
    scores = vectors.astype(np.float64) @ q.astype(np.float64)
    scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    return np.lexsort((np.arange(len(scores)), -scores))[:k]


@pytest.mark.parametrize("sigma", [0.0, 0.5, 1.2])
def test_the_top_k_is_the_brute_force_one_whatever_the_norms(sigma):
    """Long-tailed norms (ALS), equal norms (nothing can be skipped), queries pointing anywhere
    (negative scores everywhere included), short and long exclusions."""
    rng = np.random.default_rng(int(sigma * 10))
    n, d = 9000, 16
    vectors = (rng.standard_normal((n, d)) * rng.lognormal(0, sigma, (n, 1))).astype(np.float32)
    scan = NormOrderedScan(vectors)
    for trial in range(60):
        q = rng.standard_normal(d).astype(np.float32) * (trial + 1)
        k = (1, 10, 37, 500)[trial % 4]
        exclude = rng.choice(n, (0, 3, 400, 5000)[trial % 4], replace=False)
        rows, scores, read = scan.search(q, k, exclude)
        want = _brute(vectors, q, k, exclude)
        assert set(rows.tolist()) == set(want.tolist()), trial
        assert not np.isin(rows, exclude).any() and read <= n
        np.testing.assert_allclose(scores, vectors[rows] @ q, rtol=1e-5, atol=1e-5)
        assert np.all(np.diff(scores) <= 0)


def test_long_tailed_norms_stop_early_and_equal_ones_read_everything():
    rng = np.random.default_rng(3)
    n, d = 40_000, 32
    direction = rng.standard_normal(d)
    vectors = (rng.standard_normal((n, d)) + direction) * rng.lognormal(0, 1.0, (n, 1))
    scan = NormOrderedScan(vectors.astype(np.float32))
    _, _, read = scan.search(direction.astype(np.float32), 10)
    assert read < n // 4
    unit = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    _, _, read = NormOrderedScan(unit).search(direction.astype(np.float32), 10)
    assert read == n  # every bound is the same: no vector can be ruled out


def test_edges():
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    scan = NormOrderedScan(vectors)
    rows, scores, _ = scan.search(np.array([1, 0], np.float32), 10, np.array([5, 4]))
    assert rows.tolist() == [3, 2, 1, 0] and scores.tolist() == [6, 4, 2, 0]
    assert scan.search(np.array([1, 0], np.float32), 3, np.arange(6))[0].size == 0
    ties = NormOrderedScan(np.ones((BLOCK + 5, 2), np.float32))
    assert ties.search(np.array([1, 1], np.float32), 3)[0].tolist() == [0, 1, 2]  # ties by row
    zero = scan.search(np.zeros(2, np.float32), 2)[0]
    assert zero.tolist() == [0, 1]


def _search_before(scan: NormOrderedScan, q: np.ndarray, k: int, exclude: np.ndarray):
    """The search as it was before the k-th best came from the running top (a second partition of
    every score read): the reference the faster ending must match exactly."""
    from recsys_tui.core.norm_scan import BLOCK as B

    n = len(scan.order)
    q_norm = float(np.sqrt(np.dot(q.astype(np.float64), q.astype(np.float64))))
    excluded = np.zeros(n, bool)
    excluded[scan.position[exclude]] = True
    k = min(int(k), n - int(excluded.sum()))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32), 0
    scores = np.empty(n, np.float32)
    read, top = 0, np.empty(0, np.float32)
    while read < n:
        end = min(n, read + B)
        block = scores[read:end]
        np.dot(scan.vectors[read:end], q, out=block)
        block[excluded[read:end]] = -np.inf
        read = end
        top = np.concatenate((top, block))
        if len(top) > k:
            top = np.partition(top, len(top) - k)[len(top) - k:]
        if read < n and len(top) == k and top.min() > scan.bounds[read] * q_norm:
            break
    seen = scores[:read]
    kth = np.partition(seen, read - k)[read - k]
    best = np.flatnonzero(seen >= kth)
    rows = scan.order[best]
    exact = scan.vectors[best].astype(np.float64) @ q.astype(np.float64)
    ranked = np.lexsort((rows, -exact))[:k]
    return rows[ranked], exact[ranked].astype(np.float32), read


def test_the_kth_best_from_the_running_top_gives_exactly_the_answer_of_a_second_partition():
    rng = np.random.default_rng(11)
    n, d = 3 * BLOCK + 77, 24
    vectors = (rng.standard_normal((n, d)) * rng.lognormal(0, 1.0, (n, 1))).astype(np.float32)
    vectors[100:140] = vectors[7]  # exact ties around the k-th
    scan = NormOrderedScan(vectors)
    for trial in range(200):
        q = (rng.standard_normal(d) * (1 + trial % 5)).astype(np.float32)
        if trial % 10 == 0:
            q = vectors[7].copy()
        k = (1, 10, 11, 40, 300)[trial % 5]
        exclude = rng.choice(n, (0, 5, 900, n - 20)[trial % 4], replace=False)
        got, want = scan.search(q, k, exclude), _search_before(scan, q, k, exclude)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), trial
        assert got[2] == want[2]

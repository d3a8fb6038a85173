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

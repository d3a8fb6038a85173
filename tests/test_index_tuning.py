"""HNSW: an inner-product graph whose efSearch is tuned on the real queries (user vectors)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.index import (
    EF_SEARCH_GRID,
    HNSW_TARGET_RECALL,
    TUNING_QUERIES,
    VectorIndex,
    VectorIndexError,
    recall,
    tuning_rows,
)

D = 64


def _als_like(rng: np.random.Generator, n: int, basis: np.ndarray, sigma: float) -> np.ndarray:
    """Vectors near a low-dimensional subspace with log-normal norms: the shape of ALS factors
    (popular items have long vectors), where a graph built on the L2 reduction misses the long
    vectors that inner-product search wants."""
    z = rng.standard_normal((n, basis.shape[0])) @ basis + 0.3 * rng.standard_normal((n, D))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return (z * rng.lognormal(0.0, sigma, (n, 1))).astype(np.float32)


@pytest.fixture(scope="module")
def catalogue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((8, D))
    items = _als_like(rng, 8000, basis, 0.9)
    users = _als_like(rng, 600, basis, 0.3)
    return items, users[:300], users[300:]


def _exact(items: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    flat = faiss.IndexFlatIP(items.shape[1])
    flat.add(items)
    return flat.search(queries, k)[1]


def test_hnsw_tuned_on_user_vectors_reaches_the_target_on_held_out_users(catalogue):
    items, tune, held_out = catalogue
    index = VectorIndex.build(items, "hnsw", tune_queries=tune)
    assert index.tuning["queries"] == len(tune) // 2 and index.tuning["recall"] >= HNSW_TARGET_RECALL
    assert index.params()["efSearch"] == index.tuning["efSearch"] < 512, "tuned, not the default"
    found, scores = index.search_batch(held_out, 10)
    assert recall(found, _exact(items, held_out)) >= 0.95
    np.testing.assert_allclose(scores[:, 0], np.einsum("ij,ij->i", held_out, items[found[:, 0]]),
                               rtol=1e-5)


def test_tuning_uses_the_queries_it_is_given():
    """Isotropic vectors: a query along an item finds its top-10 at once, a random direction needs a
    wider search; each tuning picks the smallest efSearch that reaches the target on *its* queries."""
    rng = np.random.default_rng(1)
    items = rng.standard_normal((4000, D)).astype(np.float32)
    near = items[rng.choice(len(items), 200, replace=False)] * 3.0  # the item itself wins
    far = rng.standard_normal((200, D)).astype(np.float32)
    index = VectorIndex.build(items, "hnsw")
    results = {}
    for name, queries in (("near", near), ("far", far)):
        ef, measured = index.tune_ef_search(queries)
        found, _ = index.search_batch(queries, 10)
        assert measured == pytest.approx(recall(found, _exact(items, queries)))
        if ef != EF_SEARCH_GRID[0] and measured >= HNSW_TARGET_RECALL:  # the smallest that reaches it
            index.index.hnsw.efSearch = EF_SEARCH_GRID[EF_SEARCH_GRID.index(ef) - 1]
            lower, _ = index.search_batch(queries, 10)
            assert recall(lower, _exact(items, queries)) < HNSW_TARGET_RECALL
        results[name] = ef
    assert results["near"] < results["far"]


def test_tuning_queries_must_match_the_index():
    index = VectorIndex.build(np.eye(D, dtype=np.float32), "hnsw")
    with pytest.raises(VectorIndexError, match="tuning queries"):
        index.tune_ef_search(np.ones((3, D + 1), np.float32))
    with pytest.raises(VectorIndexError, match="hnsw"):
        VectorIndex.build(np.eye(D, dtype=np.float32), "flat").tune_ef_search(np.eye(D, dtype=np.float32))


def test_tuning_rows_skip_empty_users_and_are_seeded():
    users = np.zeros((50, 4), np.float32)
    users[::2] = 1.0
    rows = tuning_rows(users, n=10, seed=3)
    assert len(rows) == 10 and set(rows.tolist()) <= set(range(0, 50, 2))
    assert rows.tolist() == tuning_rows(users, n=10, seed=3).tolist()
    assert len(tuning_rows(users, n=TUNING_QUERIES)) == 12, "at most half: the rest is held out"
    assert len(tuning_rows(np.zeros((5, 4), np.float32))) == 0


@pytest.mark.integration
def test_engine_hnsw_is_tuned_on_its_user_vectors_and_the_published_index_keeps_it(home):
    engine = Engine.open(home)
    try:
        engine.set_index("hnsw")
        users = engine.model.user_factors
        tuned = engine.index.tuning
        assert tuned["queries"] == len(tuning_rows(users)) > 100
        assert tuned["recall"] >= HNSW_TARGET_RECALL
        held_out = np.setdiff1d(np.arange(len(users)), tuning_rows(users))
        q = np.ascontiguousarray(users[held_out])
        found, _ = engine.index.search_batch(q, 10)
        assert recall(found, _exact(engine.model.item_factors, q)) >= 0.95
        trained = engine.trained
    finally:
        engine.close()
    version = artifacts.publish(home.artifacts, trained, index_kind="hnsw")
    loaded = artifacts.load(home.artifacts, version).index
    assert loaded is not None and loaded.kind == "hnsw"
    assert loaded.params()["efSearch"] in EF_SEARCH_GRID, "the tuned efSearch is saved with the index"


def _unseen_the_long_way(index: VectorIndex, q: np.ndarray, k: int, seen: np.ndarray):
    """Top-``k`` unseen the way the hot path asked before: ``k + len(seen)`` hits, seen dropped."""
    ids, scores = index.search(q, k + len(seen))
    keep = ~np.isin(ids, seen)
    return ids[keep][:k], scores[keep][:k]


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_search_unseen_skips_the_seen_items_and_keeps_the_long_ways_answer(catalogue, kind):
    """``search_unseen`` returns exactly what the wide search then filter returned on the same
    index (flat and ivf probing every list: the exact unseen top-k), never a seen item, for short
    and long histories (a long one is mostly the query's own top)."""
    items, users, _ = catalogue
    index = VectorIndex.build(items, kind, nlist=16, nprobe=16)
    rng = np.random.default_rng(1)
    exact = VectorIndex.build(items, "flat")
    for n, q in enumerate(users[:40]):
        k = 10 if n % 2 else 25
        top = exact.search(q, 3000)[0]
        seen = np.sort(np.concatenate([top[: [0, 5, 300, 2500][n % 4]],
                                       rng.choice(len(items), n * 7, replace=False)])).astype(np.int64)
        seen = np.unique(seen)
        ids, scores = index.search_unseen(q, k, seen)
        # hnsw with more asked than its tuned beam (a long history) answers with the exact scan
        long_history = kind == "hnsw" and k + len(seen) > index.params()["efSearch"]
        want_ids, want_scores = _unseen_the_long_way(exact if long_history else index, q, k, seen)
        assert not np.isin(ids, seen).any() and len(ids) == k
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
        if kind != "hnsw":
            np.testing.assert_array_equal(ids, _unseen_the_long_way(exact, q, k, seen)[0])
    if kind == "hnsw":  # both ways were taken
        assert index.params()["efSearch"] < 10 + 2500 and index._scan is not None


def test_search_unseen_edges(catalogue):
    items, users, _ = catalogue
    ivf = VectorIndex.build(items, "ivf", nlist=16, nprobe=2)  # the index's nprobe, not FAISS's 1
    seen = np.array([3, 7], np.int64)
    np.testing.assert_array_equal(ivf.search_unseen(users[0], 10, seen)[0],
                                  _unseen_the_long_way(ivf, users[0], 10, seen)[0])
    flat = VectorIndex.build(items[:20], "flat")
    everything_but_two = np.arange(2, 20, dtype=np.int64)
    ids, _ = flat.search_unseen(users[0], 10, everything_but_two)  # fewer unseen than k
    assert sorted(ids.tolist()) == [0, 1]
    np.testing.assert_array_equal(flat.search_unseen(users[0], 5, np.empty(0, np.int64))[0],
                                  flat.search(users[0], 5)[0])
    with pytest.raises(VectorIndexError):
        flat.search_unseen(users[0][:10], 5, np.array([1], np.int64))

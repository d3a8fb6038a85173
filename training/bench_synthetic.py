"""``recsys-tui bench --synthetic-items N``: flat, HNSW and IVF over N synthetic item vectors, and
the small helpers every bench section shares (percentiles, peak memory).

The catalogue is synthetic, shaped like the trained model's item factors: directions from a
Gaussian with the mean and covariance of the item factors, lengths drawn from the item factors'
own norms (ALS item vectors have long-tailed norms — popular films have long vectors — and a
Gaussian alone loses that; on synthetic ML-25M × 0.1 they run from 0.04 to 4.4, median 0.51).
The queries are the model's real user vectors: ``core.index.tuning_rows`` picks the ones HNSW's
``efSearch`` is tuned on, latency and recall@10 are measured on the others (held out). Without an
embedding model both are isotropic Gaussians.

The build uses every core (FAISS OpenMP threads for the build only, ``core.threads.batch``);
``build_cpu_s`` (CPU seconds of all its threads) beside the wall time tells a busy machine from a
slow build. Single queries are timed on the serving path's one thread. Recall@10 is against the exact (flat)
search of the same queries.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Callable

import numpy as np
from recsys_tui.core.index import HNSW_EF_CONSTRUCTION, HNSW_M, HNSW_TARGET_RECALL, VectorIndex, tuning_rows
from recsys_tui.core.results import percentile
from recsys_tui.core.threads import batch, faiss_threads

Say = Callable[[str], None]
K = 10
SYNTHETIC_DIM = 64
MIN_SYNTHETIC_ITEMS = 1_000
MAX_SYNTHETIC_ITEMS = 5_000_000
MIN_QUERIES = 2 * SYNTHETIC_DIM
"""Fewer user vectors than this (a tiny model) and the queries are drawn like the users instead."""


def percentiles(values: list[float] | np.ndarray, which: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": …, "p95": …, "p99": …}`` (linear interpolation; empty input gives zeros)."""
    return {f"p{q}": percentile(values, q, 0.0) for q in which}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _gaussian(rng: np.random.Generator, n: int, like: np.ndarray | None, dim: int) -> np.ndarray:
    """``n`` vectors from N(mean, cov) of ``like`` (rows), or N(0, I/dim) without a template."""
    if like is None or like.ndim != 2 or like.shape[1] != dim or like.shape[0] < 2 * dim:
        return rng.standard_normal((n, dim), dtype=np.float32) / np.float32(math.sqrt(dim))
    like = like.astype(np.float64)
    mean = like.mean(axis=0)
    cov = np.cov(like, rowvar=False) + 1e-9 * np.eye(dim)
    chol = np.linalg.cholesky(cov).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 100_000):  # in blocks: keeps the float64 temporaries small
        z = rng.standard_normal((min(n, lo + 100_000) - lo, dim), dtype=np.float32)
        out[lo:lo + len(z)] = z @ chol.T + mean.astype(np.float32)
    return out


def _fits(like: np.ndarray | None) -> bool:
    return like is not None and like.ndim == 2 and like.shape[1] == SYNTHETIC_DIM \
        and like.shape[0] >= 2 * SYNTHETIC_DIM


def synthetic_items(n: int, seed: int, item_like: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """``n`` item vectors (float32, 64-d): Gaussian directions, the template's norms (module doc)."""
    rng = np.random.default_rng(seed)
    items = _gaussian(rng, n, item_like, SYNTHETIC_DIM)
    if not _fits(item_like):
        return items, "isotropic gaussian"
    norms = np.linalg.norm(item_like.astype(np.float64), axis=1)
    for lo in range(0, n, 100_000):
        block = items[lo:lo + 100_000]
        length = np.linalg.norm(block, axis=1, keepdims=True)
        block *= (rng.choice(norms, (len(block), 1)) / np.maximum(length, 1e-12)).astype(np.float32)
    return items, "gaussian directions with the model's item-norm distribution"


def queries(n: int, seed: int, user_like: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(tuning queries, evaluation queries ≤ ``n``, how): the model's user vectors split by
    ``tuning_rows``, or Gaussian draws when there is no usable model."""
    if _fits(user_like):
        live = np.flatnonzero(np.any(user_like != 0, axis=1))
        if len(live) >= MIN_QUERIES:
            tune = tuning_rows(user_like, seed=seed)
            rest = np.setdiff1d(live, tune)
            pick = np.random.default_rng(seed).choice(rest, min(n, len(rest)), replace=False)
            users = np.asarray(user_like, dtype=np.float32)
            return (np.ascontiguousarray(users[tune]), np.ascontiguousarray(users[np.sort(pick)]),
                    "the model's user vectors (tuning and evaluation disjoint)")
    rng = np.random.default_rng(seed + 1)
    return (_gaussian(rng, 500, user_like, SYNTHETIC_DIM), _gaussian(rng, n, user_like, SYNTHETIC_DIM),
            "gaussian fitted to the user vectors" if _fits(user_like) else "isotropic gaussian")


def _single_query_ms(index: VectorIndex, qs: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    found = np.full((len(qs), k), -1, dtype=np.int64)
    times = []
    for n, q in enumerate(qs):
        t0 = time.perf_counter_ns()
        ids, _ = index.search(q, k)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        found[n, :len(ids)] = ids
    return found, times


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact top-k found by the approximate search."""
    k = exact.shape[1]
    hits = [len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits)) if hits else 0.0


def run_synthetic(n_items: int, n_queries: int, seed: int, say: Say,
                  item_like: np.ndarray | None = None, user_like: np.ndarray | None = None,
                  kinds: tuple[str, ...] = ("flat", "hnsw", "ivf"), hnsw_m: int = HNSW_M,
                  hnsw_ef_construction: int = HNSW_EF_CONSTRUCTION) -> dict:
    """Build each index kind over ``n_items`` synthetic vectors; latency and recall@10 vs flat."""
    say(f"synthetic: drawing {n_items:,} item vectors")
    items, how = synthetic_items(n_items, seed, item_like)
    tuning, evaluation, asked = queries(n_queries, seed, user_like)
    out: dict = {"items": n_items, "dim": SYNTHETIC_DIM, "queries": len(evaluation), "k": K,
                 "vectors": how, "query_vectors": asked, "indexes": {}}
    with batch():  # index builds are batch work: every core
        build_threads = faiss_threads()
    exact = None
    for kind in ("flat", *[k for k in kinds if k != "flat"]):
        say(f"synthetic: building {kind} over {n_items:,} items ({build_threads} threads)")

        def progress(done: int, total: int, kind: str = kind) -> None:
            say(f"synthetic: {kind} {done:,}/{total:,} added")

        t0, cpu0 = time.perf_counter(), time.process_time()
        index = VectorIndex.build(items, kind, m=hnsw_m, ef_construction=hnsw_ef_construction,
                                  progress=progress)
        build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        tuned: dict = {}
        if kind == "hnsw":  # efSearch for the recall target on the tuning queries (held apart)
            t1 = time.perf_counter()
            ef, tune_recall = index.tune_ef_search(tuning, K)
            tuned = {"tune_s": time.perf_counter() - t1, "tuning_queries": len(tuning),
                     "tuning_recall": tune_recall, "target_recall": HNSW_TARGET_RECALL}
            say(f"synthetic: hnsw efSearch {ef} reaches recall {tune_recall:.3f} on tuning queries")
        say(f"synthetic: {kind} built in {build_s:.1f} s; querying")
        found, times = _single_query_ms(index, evaluation, K)
        if kind == "flat":
            exact = found
        spread = {f"{p}_ms": v for p, v in percentiles(times, (50, 99)).items()}
        out["indexes"][kind] = {"build_s": build_s, "build_cpu_s": build_cpu_s, **spread,
                                "mean_ms": float(np.mean(times)), "recall_at_10": recall_at_k(found, exact),
                                "params": index.params(), "build_threads": build_threads, **tuned}
        del index
    out["peak_rss_mb"] = peak_rss_mb()
    return out

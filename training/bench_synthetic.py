"""``recsys-tui bench --synthetic-items N``: flat, HNSW and IVF over a synthetic catalogue, and the
small helpers every bench section shares (percentiles, peak memory).

``n`` random 64-d item vectors drawn from a Gaussian with the mean and covariance of the trained
model's item factors (isotropic when the model is not 64-d) are indexed with every kind; single
queries (k=10) time each index and recall@10 is measured against the exact flat search. Index
builds are batch work (every core); HNSW's efSearch is tuned on held-out queries first.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Callable

import numpy as np
from recsys_tui.core.index import HNSW_TARGET_RECALL, INDEX_KINDS, VectorIndex
from recsys_tui.core.results import percentile
from recsys_tui.core.threads import batch, faiss_threads

Say = Callable[[str], None]
K = 10
SYNTHETIC_DIM = 64
MIN_SYNTHETIC_ITEMS = 1_000
TUNING_QUERIES = 500
"""Held-out queries (another seed) on which HNSW's efSearch is tuned; recall is then measured on
the evaluation queries."""


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
        return (rng.standard_normal((n, dim), dtype=np.float32) / np.float32(math.sqrt(dim)))
    like = like.astype(np.float64)
    mean = like.mean(axis=0)
    cov = np.cov(like, rowvar=False) + 1e-9 * np.eye(dim)
    chol = np.linalg.cholesky(cov).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 100_000):  # in blocks: keeps the float64 temporaries small
        z = rng.standard_normal((min(n, lo + 100_000) - lo, dim), dtype=np.float32)
        out[lo:lo + len(z)] = z @ chol.T + mean.astype(np.float32)
    return out


def synthetic_vectors(n_items: int, n_queries: int, seed: int, item_like: np.ndarray | None = None,
                      user_like: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Item and query vectors (float32, 64-d) with a fixed seed, and how they were drawn."""
    rng = np.random.default_rng(seed)
    fitted = item_like is not None and item_like.ndim == 2 and item_like.shape[1] == SYNTHETIC_DIM
    items = _gaussian(rng, n_items, item_like if fitted else None, SYNTHETIC_DIM)
    queries = _gaussian(rng, n_queries, user_like if fitted else None, SYNTHETIC_DIM)
    how = "gaussian fitted to the model's item/user factors" if fitted else "isotropic gaussian"
    return items, queries, how


def _single_query_ms(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    found = np.full((len(queries), k), -1, dtype=np.int64)
    times = []
    for n, q in enumerate(queries):
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
                  kinds: tuple[str, ...] = INDEX_KINDS) -> dict:
    """Build every index kind over ``n_items`` synthetic vectors; latency and recall@10 vs flat."""
    say(f"synthetic: drawing {n_items:,} item vectors")
    items, queries, how = synthetic_vectors(n_items, n_queries, seed, item_like, user_like)
    _, tuning, _ = synthetic_vectors(MIN_SYNTHETIC_ITEMS, TUNING_QUERIES, seed + 1, item_like, user_like)
    out: dict = {"items": n_items, "dim": SYNTHETIC_DIM, "queries": n_queries, "k": K,
                 "vectors": how, "indexes": {}}
    exact = None
    with batch():  # index builds are batch work: every core
        build_threads = faiss_threads()
    for kind in ("flat", *[k for k in kinds if k != "flat"]):
        say(f"synthetic: building {kind} over {n_items:,} items")

        def progress(done: int, total: int, kind: str = kind) -> None:
            say(f"synthetic: {kind} {done:,}/{total:,} added")

        t0 = time.perf_counter()
        index = VectorIndex.build(items, kind, progress=progress)
        build_s = time.perf_counter() - t0
        tuned: dict = {}
        if kind == "hnsw":  # efSearch chosen for the recall target on separate tuning queries
            t1 = time.perf_counter()
            ef, tune_recall = index.tune_ef_search(tuning, K)
            tuned = {"tune_s": time.perf_counter() - t1, "tuning_queries": len(tuning),
                     "tuning_recall": tune_recall, "target_recall": HNSW_TARGET_RECALL}
            say(f"synthetic: hnsw efSearch {ef} reaches recall {tune_recall:.3f} on tuning queries")
        say(f"synthetic: {kind} built in {build_s:.1f} s; querying")
        found, times = _single_query_ms(index, queries, K)
        if kind == "flat":
            exact = found
        row = {"build_s": build_s, **{f"{p}_ms": v for p, v in percentiles(times, (50, 99)).items()},
               "mean_ms": float(np.mean(times)), "recall_at_10": recall_at_k(found, exact),
               "params": index.params(), "build_threads": build_threads, **tuned}
        out["indexes"][kind] = row
        del index
    out["peak_rss_mb"] = peak_rss_mb()
    return out

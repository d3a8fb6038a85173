"""``recsys-tui bench``: hot-path latency per step, batch throughput, and index growth.

Three sections, all measured, nothing assumed:

1. **Events** — a private copy of the home (data cache + current artifact in a temp folder, with an
   empty event log) is opened with the engine; after a warm-up, ``events`` interactions by random
   real ML-100K users on random items they have not seen (ratings 1–5, some clicks and views, fixed
   seed) go through ``Engine.record``. Reported: p50/p95/p99 of every step and of the total, events/s
   (wall clock over the loop), peak RSS and the store kind. The user's own event log is never
   touched; a real Redis must not hold recsys-tui data already (the bench refuses to mix its events
   into a live store) and the keys the bench wrote are deleted afterwards.
2. **Batch** — ``Engine.recommend_all(10)`` for every user, repeated; median seconds and users/s.
3. **Synthetic** (optional) — ``n`` random 64-d item vectors drawn from a Gaussian with the mean and
   covariance of the trained model's item factors (isotropic when the model is not 64-d), indexed
   flat, HNSW and IVF; single-query latency (k=10) for user-like queries and recall@10 against the
   exact flat search.
"""

from __future__ import annotations

import contextlib
import math
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.core.index import INDEX_KINDS, VectorIndex
from recsys_tui.core.keys import NAMESPACE
from recsys_tui.core.results import STEPS, percentile

Say = Callable[[str], None]
K = 10
SYNTHETIC_DIM = 64
EVENT_MIX = (("rating", 0.80), ("click", 0.15), ("view", 0.05))
"""Share of each event kind in the generated stream."""
MAX_EVENTS = 1_000_000
MAX_SYNTHETIC_ITEMS = 5_000_000
MIN_SYNTHETIC_ITEMS = 1_000


class BenchError(RecsysError):
    """The benchmark cannot run with these options or on this home."""


@dataclass
class BenchOptions:
    """What to measure (see the module docstring)."""

    events: int = 5000
    warmup: int = 200
    redis_url: str | None = None
    index: str | None = None
    synthetic_items: int | None = None
    synthetic_queries: int = 1000
    batch_runs: int = 5
    seed: int = 0

    def check(self) -> BenchOptions:
        if isinstance(self.events, bool) or not isinstance(self.events, int) \
                or not 1 <= self.events <= MAX_EVENTS:
            raise BenchError(f"--events must be 1–{MAX_EVENTS:,}, got {self.events!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) \
                or not 0 <= self.warmup <= MAX_EVENTS:
            raise BenchError(f"--warmup must be 0–{MAX_EVENTS:,}, got {self.warmup!r}")
        if self.index is not None and self.index not in INDEX_KINDS:
            raise BenchError(f"unknown index type {self.index!r}; choose one of {', '.join(INDEX_KINDS)}")
        if self.synthetic_items is not None and not (
                MIN_SYNTHETIC_ITEMS <= self.synthetic_items <= MAX_SYNTHETIC_ITEMS):
            raise BenchError(f"--synthetic-items must be {MIN_SYNTHETIC_ITEMS:,}–{MAX_SYNTHETIC_ITEMS:,}, "
                             f"got {self.synthetic_items:,}")
        if not 1 <= self.synthetic_queries <= 100_000:
            raise BenchError(f"synthetic queries must be 1–100,000, got {self.synthetic_queries}")
        if not 1 <= self.batch_runs <= 1000:
            raise BenchError(f"batch runs must be 1–1000, got {self.batch_runs}")
        return self


# -- helpers ---------------------------------------------------------------------------------------

def percentiles(values: list[float] | np.ndarray, which: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": …, "p95": …, "p99": …}`` (linear interpolation; empty input gives zeros)."""
    return {f"p{q}": percentile(values, q, 0.0) for q in which}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextlib.contextmanager
def scratch_home(home: Home) -> Iterator[Home]:
    """A temporary home with a copy of ``home``'s data cache and current artifact, no events."""
    version = artifacts.current_version(home.artifacts)
    if version is None or not (home.artifacts / version).is_dir():
        raise BenchError(f"no trained model in {home.root}; run `recsys-tui train` first")
    if not home.data.is_dir():
        raise BenchError(f"no dataset cache in {home.root}; run `recsys-tui data fetch` first")
    tmp = Path(tempfile.mkdtemp(prefix="recsys-tui-bench-"))
    try:
        scratch = Home(tmp / "home", home.dataset)
        shutil.copytree(home.data / home.dataset, scratch.data / home.dataset)
        shutil.copytree(home.artifacts / version, scratch.artifacts / version)
        (scratch.artifacts / artifacts.CURRENT).write_text(version + "\n")
        yield scratch.ensure()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def plan_events(engine: Engine, n: int, seed: int) -> list[tuple[int, int, str, int | None]]:
    """``n`` (user, item, kind, rating) events: random real users, items each user has not seen."""
    rng = np.random.default_rng(seed)
    users = np.array(sorted(engine.dataset.users), dtype=np.int64)
    items = engine.catalogue.item_ids.astype(np.int64)
    inter = engine.dataset.interactions
    seen: dict[int, set[int]] = {}
    for u, i in zip(inter.user_ids.tolist(), inter.item_ids.tolist(), strict=True):
        seen.setdefault(u, set()).add(i)
    kinds = [k for k, _ in EVENT_MIX]
    shares = np.array([s for _, s in EVENT_MIX])
    plan = []
    while len(plan) < n:
        user = int(rng.choice(users))
        mine = seen.setdefault(user, set())
        if len(mine) >= len(items):
            continue
        while (item := int(rng.choice(items))) in mine:
            pass
        mine.add(item)
        kind = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
        plan.append((user, item, kind, int(rng.integers(1, 6)) if kind == "rating" else None))
    return plan


# -- section 1: events -----------------------------------------------------------------------------

def run_events(engine: Engine, plan: list[tuple[int, int, str, int | None]], warmup: int,
               say: Say) -> dict:
    """Record ``plan`` (the first ``warmup`` events unmeasured); per-step and total percentiles."""
    for user, item, kind, rating in plan[:warmup]:
        engine.record(user, item, kind, rating, k=K, with_before=False)
    measured = plan[warmup:]
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    totals, walls, degraded = [], [], 0
    every = max(1, len(measured) // 10)
    start = time.perf_counter()
    for n, (user, item, kind, rating) in enumerate(measured, 1):
        t0 = time.perf_counter_ns()
        result = engine.record(user, item, kind, rating, k=K, with_before=False)
        walls.append((time.perf_counter_ns() - t0) / 1e6)
        totals.append(result.timings.total_ms)
        for step in STEPS:
            steps[step].append(result.timings.steps.get(step, 0.0))
        degraded += result.degraded is not None
        if n % every == 0:
            say(f"events {n:,}/{len(measured):,}")
    elapsed = time.perf_counter() - start
    return {
        "events": len(measured),
        "warmup": warmup,
        "users": len({p[0] for p in measured}),
        "kinds": {k: sum(p[2] == k for p in measured) for k, _ in EVENT_MIX},
        "degraded_events": degraded,
        "event_to_recs_ms": percentiles(totals),
        "record_call_ms": percentiles(walls),
        "steps_ms": {s: {**percentiles(v), "mean": float(np.mean(v))} for s, v in steps.items()},
        "events_per_s": len(measured) / elapsed if elapsed > 0 else 0.0,
        "elapsed_s": elapsed,
    }


# -- section 2: batch ------------------------------------------------------------------------------

def run_batch(engine: Engine, runs: int) -> dict:
    """``recommend_all(10)`` ``runs`` times (after one unmeasured call); median seconds, users/s."""
    users, _, _ = engine.recommend_all(K)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.recommend_all(K)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"users": len(users), "k": K, "runs": runs, "median_s": median, "min_s": min(times),
            "max_s": max(times), "users_per_s": len(users) / median if median > 0 else 0.0}


# -- section 3: synthetic catalogue ------------------------------------------------------------------

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
    out: dict = {"items": n_items, "dim": SYNTHETIC_DIM, "queries": n_queries, "k": K,
                 "vectors": how, "indexes": {}}
    exact = None
    for kind in ("flat", *[k for k in kinds if k != "flat"]):
        say(f"synthetic: building {kind} over {n_items:,} items")

        def progress(done: int, total: int, kind: str = kind) -> None:
            say(f"synthetic: {kind} {done:,}/{total:,} added")

        t0 = time.perf_counter()
        index = VectorIndex.build(items, kind, progress=progress)
        build_s = time.perf_counter() - t0
        say(f"synthetic: {kind} built in {build_s:.1f} s; querying")
        found, times = _single_query_ms(index, queries, K)
        if kind == "flat":
            exact = found
        row = {"build_s": build_s, **{f"{p}_ms": v for p, v in percentiles(times, (50, 99)).items()},
               "mean_ms": float(np.mean(times)), "recall_at_10": recall_at_k(found, exact),
               "params": index.params()}
        out["indexes"][kind] = row
        del index
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# -- the whole run ---------------------------------------------------------------------------------

def _guard_real_store(url: str) -> Callable[[], int]:
    """Refuse a Redis that already holds recsys-tui data; return a cleanup for the bench's keys."""
    from recsys_tui.core.feature_store import FeatureStore, StoreError

    store = FeatureStore.open(url)
    try:
        seeded = store.is_seeded()
    except StoreError as exc:
        raise BenchError(f"cannot benchmark: {exc}") from None
    if seeded:
        raise BenchError(f"{store.url} already holds recsys-tui data ({NAMESPACE}:*); the bench will not "
                         "mix its events into a live store: point --redis-url at an empty database "
                         "(e.g. …/15)")

    def cleanup() -> int:
        doomed = [k for k in store.client.scan_iter(match=f"{NAMESPACE}:*", count=1000)]
        for lo in range(0, len(doomed), 1000):
            store.client.delete(*doomed[lo:lo + 1000])
        return len(doomed)

    return cleanup


def run(home: Home, options: BenchOptions, say: Say = lambda _: None) -> dict:
    """Every section; returns the report (also what ``--json`` writes). Times in milliseconds."""
    options.check()
    report: dict = {"k": K, "seed": options.seed}
    with scratch_home(home) as scratch:
        cleanup = _guard_real_store(options.redis_url) if options.redis_url else None
        say("opening the engine on a temporary copy of the home")
        engine = Engine.open(scratch, options.redis_url, options.index)
        try:
            if engine.degraded:
                raise BenchError(f"cannot benchmark: {engine.degraded}")
            status = engine.status()
            plan = plan_events(engine, options.warmup + options.events, options.seed)
            say(f"events: {options.warmup:,} warm-up, {options.events:,} measured "
                f"({status.store}, {status.index} index)")
            events = run_events(engine, plan, options.warmup, say)
            if engine.log.count() != len(plan):
                raise BenchError(f"the log holds {engine.log.count()} events, {len(plan)} were sent")
            report.update(events)
            report.update({"store": status.store, "store_url": status.store_url, "index": status.index,
                           "model": status.model, "model_version": status.model_version,
                           "logged_events": engine.log.count(), "peak_rss_mb": peak_rss_mb()})
            say(f"batch: recommend_all({K}) × {options.batch_runs}")
            report["batch"] = run_batch(engine, options.batch_runs)
            item_like = getattr(engine.model, "item_factors", None)
            user_like = getattr(engine.model, "user_factors", None)
        finally:
            engine.close()
            if cleanup is not None:
                report["store_keys_removed"] = cleanup()
    if options.synthetic_items:
        report["synthetic"] = run_synthetic(options.synthetic_items, options.synthetic_queries,
                                            options.seed, say, item_like, user_like)
    report["peak_rss_mb_total"] = peak_rss_mb()
    return report

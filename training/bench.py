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
   With ``contend`` N, the same number of further events run while N CPU-bound background
   processes (bounded, stopped by the bench) compete for the cores: quiet and contended
   percentiles of one run, side by side.
   With ``reference``, the bare minimum the same work needs is timed in the same run — one NumPy
   solve of a fold-in, one FAISS search, one write pipeline to the same store — and the engine's
   p50/p99 are reported as a ratio to it (the headline: absolute times vary with the machine).
   ``script_call_ms`` times one call of an empty server-side script with the write's keys and
   arguments: the store's own floor for a one-round-trip write (fakeredis: its Lua bridge).
   Heavy users (13 and 405, 600+ ratings) and the lightest user get a few events each, to show
   that fold-in and reasons cost the same order for both. ``threads`` reports the BLAS/OpenMP
   pools the hot path ran with (threadpoolctl).
3. **Synthetic** (optional) — flat, HNSW and IVF over 64-d items shaped like the model's item
   factors; single-query latency for the model's held-out user vectors and recall@10 against
   exact search (``training.bench_synthetic``).
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
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
from recsys_tui.core.index import HNSW_EF_CONSTRUCTION, HNSW_M, INDEX_KINDS
from recsys_tui.core.keys import NAMESPACE
from recsys_tui.core.results import STEPS
from recsys_tui.core.threads import pools
from recsys_tui.training.bench_reference import run_reference
from recsys_tui.training.bench_synthetic import (
    MIN_SYNTHETIC_ITEMS,
    peak_rss_mb,
    percentiles,
    recall_at_k,
    run_synthetic,
)
from recsys_tui.training.contention import contenders

__all__ = ["BenchError", "BenchOptions", "percentiles", "plan_events", "recall_at_k", "run", "scratch_home"]

Say = Callable[[str], None]
K = 10
EVENT_MIX = (("rating", 0.80), ("click", 0.15), ("view", 0.05))
"""Share of each event kind in the generated stream."""
MAX_EVENTS = 1_000_000
MAX_SYNTHETIC_ITEMS = 5_000_000
MAX_CONTEND = 16
HEAVY_USERS = (13, 405)
HEAVY_EVENTS = 40
REFERENCE_REPS = 2000


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
    synthetic_kinds: tuple[str, ...] = INDEX_KINDS
    hnsw_m: int = HNSW_M
    hnsw_ef_construction: int = HNSW_EF_CONSTRUCTION
    batch_runs: int = 5
    seed: int = 0
    contend: int = 0
    reference: bool = False

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
        if not self.synthetic_kinds or any(k not in INDEX_KINDS for k in self.synthetic_kinds):
            raise BenchError(f"--synthetic-kinds must name some of {', '.join(INDEX_KINDS)}, "
                             f"got {','.join(self.synthetic_kinds)!r}")
        if not 4 <= self.hnsw_m <= 128 or not 8 <= self.hnsw_ef_construction <= 1024:
            raise BenchError(f"--hnsw-m must be 4–128 and --hnsw-ef-construction 8–1024, got "
                             f"{self.hnsw_m} and {self.hnsw_ef_construction}")
        if not 1 <= self.synthetic_queries <= 100_000:
            raise BenchError(f"synthetic queries must be 1–100,000, got {self.synthetic_queries}")
        if isinstance(self.contend, bool) or not isinstance(self.contend, int) \
                or not 0 <= self.contend <= MAX_CONTEND:
            raise BenchError(f"--contend must be 0–{MAX_CONTEND}, got {self.contend!r}")
        if not 1 <= self.batch_runs <= 1000:
            raise BenchError(f"batch runs must be 1–1000, got {self.batch_runs}")
        return self


# -- helpers ---------------------------------------------------------------------------------------

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


def run_contended(engine: Engine, plan: list[tuple[int, int, str, int | None]], n: int,
                  say: Say) -> dict:
    """The same measurement as ``run_events`` while ``n`` CPU-bound processes run."""
    say(f"contended: {n} CPU-bound background processes")
    with contenders(n):
        out = run_events(engine, plan, 0, say)
    return {"processes": n, "events": out["events"], "event_to_recs_ms": out["event_to_recs_ms"],
            "steps_ms": out["steps_ms"], "events_per_s": out["events_per_s"]}


def run_heavy_users(engine: Engine, seed: int) -> dict:
    """Fold-in and rerank (reasons) step times for the heaviest users and the lightest one."""
    rng = np.random.default_rng(seed + 1)
    counts = engine.catalogue.user_counts
    light = min(counts, key=lambda u: (counts[u], u))
    items = engine.catalogue.item_ids.astype(np.int64)
    out = {}
    for user in (*[u for u in HEAVY_USERS if u in counts], light):
        seen = {int(i) for i in engine.items.ids[engine.user_arrays(user)[0]]}
        fresh = [int(i) for i in rng.permutation(items) if int(i) not in seen][:HEAVY_EVENTS]
        fold, rerank, total = [], [], []
        for item in fresh:
            t = engine.record(user, item, "click", k=K, with_before=False).timings
            fold.append(t.steps.get("foldin", 0.0))
            rerank.append(t.steps.get("rerank", 0.0))
            total.append(t.total_ms)
        out[str(user)] = {"ratings": int(counts[user]), "events": len(fresh),
                          "foldin_ms": percentiles(fold, (50, 99)),
                          "rerank_ms": percentiles(rerank, (50, 99)),
                          "event_to_recs_ms": percentiles(total, (50, 99))}
    return out


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
            extra = options.events if options.contend else 0
            plan = plan_events(engine, options.warmup + options.events + extra, options.seed)
            quiet_plan = plan[:options.warmup + options.events]
            report["threads"] = pools()
            say(f"events: {options.warmup:,} warm-up, {options.events:,} measured "
                f"({status.store}, {status.index} index)")
            events = run_events(engine, quiet_plan, options.warmup, say)
            report.update(events)
            if options.contend:
                report["contended"] = run_contended(engine, plan[len(quiet_plan):], options.contend, say)
                quiet, busy = events["event_to_recs_ms"], report["contended"]["event_to_recs_ms"]
                report["contended"]["ratio_to_quiet"] = {
                    p: busy[p] / quiet[p] if quiet[p] > 0 else 0.0 for p in ("p50", "p99")}
            if engine.log.count() != len(plan):
                raise BenchError(f"the log holds {engine.log.count()} events, {len(plan)} were sent")
            if options.reference:
                ref = run_reference(engine, min(options.events, REFERENCE_REPS), say)
                report["reference_ms"] = ref
                mine = events["event_to_recs_ms"]
                report["ratio_to_reference"] = {
                    p: mine[p] / ref[p] if ref[p] > 0 else 0.0 for p in ("p50", "p99")}
            report.update({"store": status.store, "store_url": status.store_url, "index": status.index,
                           "model": status.model, "model_version": status.model_version,
                           "logged_events": engine.log.count(), "peak_rss_mb": peak_rss_mb()})
            say("heavy users: fold-in and reasons for users 13 and 405 and the lightest user")
            report["heavy_users"] = run_heavy_users(engine, options.seed)
            say(f"batch: recommend_all({K}) × {options.batch_runs}")
            report["batch"] = run_batch(engine, options.batch_runs)
            item_like = engine.model.item_factors if engine.is_embedding else None
            user_like = engine.model.user_factors if engine.is_embedding else None
        finally:
            engine.close()
            if cleanup is not None:
                report["store_keys_removed"] = cleanup()
    if options.synthetic_items:
        report["synthetic"] = run_synthetic(options.synthetic_items, options.synthetic_queries,
                                            options.seed, say, item_like, user_like,
                                            options.synthetic_kinds, options.hnsw_m,
                                            options.hnsw_ef_construction)
    report["peak_rss_mb_total"] = peak_rss_mb()
    return report

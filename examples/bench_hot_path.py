"""Where an event's time goes at scale: the scale bench's event loop, split step by step.

Opens a trained home once per index kind and runs ``scale_bench._events``' loop (a random user
rates an item they have not rated; ``Engine.record(..., with_before=False)``), recording per event
the engine's own step timings, the recording thread's CPU time, the garbage collector's pauses,
the page faults taken, and (``--parts``) the time of the parts inside the steps (the view's
arrays, the fold-in's system and solve, the seen-filtered search, the reasons). Events are split
by the user's history length (heavy: ``--heavy`` ratings or more).

Each run uses a scratch home whose data set and artifacts are symbolic links to ``--home`` and
whose event log is new, so runs are identical and ``--home`` is never written.

A/B in one run: ``--ab OTHER_SRC`` runs this tree and ``OTHER_SRC`` (another checkout's source,
e.g. ``git -C REPO worktree add /tmp/base COMMIT`` or ``git archive``) alternately in fresh
processes, ``--rounds`` times each, and prints both.

    python examples/bench_hot_path.py --home H --dataset synth-ml-25m --events 600 --parts
    python examples/bench_hot_path.py --home H --dataset synth-ml-25m --ab /tmp/base --rounds 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = 500


def _use_source(src: str) -> None:
    """Import ``recsys_tui`` from another source tree (its room folders, as the wheel maps them)."""
    import importlib.abc
    import importlib.util

    root = Path(src).resolve()
    rooms = {"recsys_tui": root / "recsys_tui"}
    for room in ("api", "common", "core", "data", "faults", "models", "training", "tui"):
        rooms[f"recsys_tui.{room}"] = root / room

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            folder = rooms.get(fullname)
            if folder is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, folder / "__init__.py", submodule_search_locations=[str(folder)])

    sys.meta_path.insert(0, Finder())


def _scratch_home(home: Path, dataset: str) -> Path:
    """A home whose data and artifacts link to ``home``'s, with an empty event log of its own."""
    scratch = Path(tempfile.mkdtemp(prefix="hot-bench-"))
    (scratch / "data").symlink_to(home / "data")
    own = scratch / "sets" / dataset
    own.mkdir(parents=True)
    (own / "artifacts").symlink_to(home / "sets" / dataset / "artifacts")
    return scratch


class Parts:
    """Wall time of named calls inside one event (wrapped methods add to ``ns``)."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = {}

    def wrap(self, owner, name: str, label: str) -> None:
        fn = getattr(owner, name)
        ns = self.ns

        def timed(*args, **kwargs):
            t = time.perf_counter_ns()
            try:
                return fn(*args, **kwargs)
            finally:
                ns[label] = ns.get(label, 0) + time.perf_counter_ns() - t
        setattr(owner, name, timed)


class Before:
    """Per-event A/B in one process: switches the hot path's parts changed on this branch back to
    their code in another source tree (``--interleave``): the reasons' selection, the norm scan's
    search, the view's full rebuild after an event."""

    def __init__(self, engine, src: str) -> None:
        import importlib.util
        import types

        def load(room: str, name: str):
            spec = importlib.util.spec_from_file_location(f"before_{name}", Path(src) / room / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        import recsys_tui.core.hot_path as hot_path
        self.engine, self.hot_path, self.types = engine, hot_path, types
        self.new_shares = hot_path.largest_shares
        self.old_shares = load("core", "reasons").largest_shares
        self.old_scan = load("core", "norm_scan").NormOrderedScan.search

    def use(self, old: bool) -> None:
        engine = self.engine
        self.hot_path.largest_shares = self.old_shares if old else self.new_shares
        scan = engine.index._exact_scan() if engine.index.kind in ("flat", "hnsw") else None
        if old:
            engine._refold_event = lambda state, event: engine._refold(state)
            if scan is not None:
                scan.search = self.types.MethodType(self.old_scan, scan)
        else:
            engine.__dict__.pop("_refold_event", None)
            if scan is not None:
                scan.__dict__.pop("search", None)


def run(home: Path, dataset: str, kinds: list[str], events: int, seed: int, parts: bool,
        freeze: bool, profile: str | None = None, heavy: int = HEAVY, interleave: str | None = None
        ) -> dict:
    import numpy as np
    from recsys_tui.core.engine import Engine
    from recsys_tui.core.home import Home

    scratch = _scratch_home(home, dataset)
    out: dict = {"load_start": os.getloadavg()[0], "kinds": {}}
    try:
        t = time.perf_counter()
        engine = Engine.open(Home(scratch, dataset))
        out["open_s"] = time.perf_counter() - t
        try:
            user_ids = np.unique(engine.dataset.interactions.user_ids)
            item_ids = engine.items.ids
            pauses: list[int] = []
            generations: list[int] = []
            read: list[int] = []
            started = [0]

            def on_gc(phase, info):
                if phase == "start":
                    started[0] = time.perf_counter_ns()
                else:
                    pauses.append(time.perf_counter_ns() - started[0])
                    generations.append(info["generation"])
            gc.callbacks.append(on_gc)
            split = Parts()
            profiles = {}
            if profile:
                import cProfile
                profiles = {"light": cProfile.Profile(), "heavy": cProfile.Profile()}
            if parts:
                model = engine.model
                split.wrap(engine, "_arrays_long", "arrays")
                split.wrap(engine, "_arrays_short", "arrays")
                split.wrap(model, "fold_in", "fold_in")
                split.wrap(model, "contributions", "contributions")
                split.wrap(engine, "_explain", "explain")
                split.wrap(engine.log, "append", "log_append")
                split.wrap(engine.log, "events", "log_events")
            for n, kind in enumerate(kinds):
                if kind != engine.index.kind:
                    engine.set_index(kind)
                if parts:
                    split.wrap(engine.index, "search_unseen", "search_unseen")
                    scan = engine.index._exact_scan() if kind in ("flat", "hnsw") else None
                    if scan is not None:
                        scan_search = scan.search

                        def counted(*a, _search=scan_search, **kw):
                            found = _search(*a, **kw)
                            read.append(found[2])
                            return found
                        scan.search = counted
                if freeze:  # the API worker's policy (api/gcwatch.py), the app's is alike
                    from recsys_tui.api.gcwatch import serving_gc
                    serving_gc()
                rng = np.random.default_rng(seed + n)  # as scale_bench: flat seed, hnsw seed + 1
                rows = []
                before = Before(engine, interleave) if interleave else None
                for event_no in range(events):
                    variant = ("before" if event_no % 2 else "after") if before else ""
                    if before:
                        before.use(variant == "before")
                    user = int(rng.choice(user_ids))
                    seen = set(engine.user_arrays(user)[0].tolist())
                    for _ in range(100):
                        col = int(rng.integers(0, len(item_ids)))
                        if col not in seen:
                            break
                    item = int(item_ids[col])
                    stars = float(rng.integers(1, 11)) / 2 if engine.half_stars else float(rng.integers(1, 6))
                    pauses.clear()
                    generations.clear()
                    read.clear()
                    split.ns.clear()
                    ru0 = resource.getrusage(resource.RUSAGE_THREAD)
                    cpu0 = time.thread_time_ns()
                    prof = profiles.get("heavy" if len(seen) >= heavy else "light")
                    if prof is not None:
                        prof.enable()
                    result = engine.record(user, item, "rating", stars, k=10, with_before=False)
                    if prof is not None:
                        prof.disable()
                    cpu = time.thread_time_ns() - cpu0
                    ru1 = resource.getrusage(resource.RUSAGE_THREAD)
                    rows.append({"user": user, "n": len(seen), "variant": variant,
                                 "total": result.timings.total_ms,
                                 "steps": result.timings.steps, "cpu": cpu / 1e6,
                                 "gc": sum(pauses) / 1e6, "gcs": len(pauses),
                                 "gc_gen": max(generations, default=-1), "read": sum(read),
                                 "minflt": ru1.ru_minflt - ru0.ru_minflt,
                                 "majflt": ru1.ru_majflt - ru0.ru_majflt,
                                 "parts": {k: v / 1e6 for k, v in split.ns.items()}})
                out["kinds"][kind] = rows[len(rows) // 10:]  # the first 10 % dropped, as scale_bench
            gc.callbacks.remove(on_gc)
            for label, prof in profiles.items():
                prof.dump_stats(f"{profile}.{label}.prof")
        finally:
            engine.close()
    finally:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)
    out["load_end"] = os.getloadavg()[0]
    return out


def _pct(values, q) -> float:
    import numpy as np
    return float(np.percentile(np.asarray(values, np.float64), q)) if len(values) else float("nan")


def summary(rows: list[dict], heavy: int) -> dict:
    """p50/p99 of the total, the CPU time and every step, for all users and per class."""
    out = {}
    for label, pick in (("all", rows), (f"n<{heavy}", [r for r in rows if r["n"] < heavy]),
                        (f"n>={heavy}", [r for r in rows if r["n"] >= heavy])):
        if not pick:
            continue
        cell = {"events": len(pick), "total": (_pct([r["total"] for r in pick], 50),
                                               _pct([r["total"] for r in pick], 99)),
                "cpu": (_pct([r["cpu"] for r in pick], 50), _pct([r["cpu"] for r in pick], 99)),
                "gc_events": sum(1 for r in pick if r["gcs"]),
                "gc_ms_max": max(r["gc"] for r in pick),
                "majflt": sum(r["majflt"] for r in pick),
                "minflt_p50": _pct([r["minflt"] for r in pick], 50)}
        names = sorted({s for r in pick for s in r["steps"]}
                       | {f"part:{p}" for r in pick for p in r["parts"]})
        for s in names:
            vals = [r["parts"].get(s[5:], 0.0) if s.startswith("part:") else r["steps"].get(s, 0.0)
                    for r in pick]
            cell[s] = (_pct(vals, 50), _pct(vals, 99))
        out[label] = cell
    return out


def show(title: str, result: dict, heavy: int) -> None:
    print(f"== {title}: load {result['load_start']:.2f} → {result['load_end']:.2f}, "
          f"open {result['open_s']:.2f} s")
    for kind, every in result["kinds"].items():
        for variant in sorted({r.get("variant", "") for r in every}):
            rows = [r for r in every if r.get("variant", "") == variant]
            if variant:
                print(f"  -- {variant} (events alternated in one process)")
            for label, cell in summary(rows, heavy).items():
                steps = ", ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in cell.items()
                                  if isinstance(v, tuple) and k not in ("total", "cpu"))
                print(f"  {kind:4} {label:7} n={cell['events']:4} total p50 {cell['total'][0]:.3f} "
                      f"p99 {cell['total'][1]:.3f} ms | cpu {cell['cpu'][0]:.3f}/{cell['cpu'][1]:.3f} | "
                      f"gc events {cell['gc_events']} (max {cell['gc_ms_max']:.2f} ms) majflt "
                      f"{cell['majflt']} minflt p50 {cell['minflt_p50']:.0f}")
                print(f"       {steps}")


def pooled(path: str, heavy: int) -> None:
    """The rounds of an ``--ab`` JSON pooled per variant, kind and user class: wall and CPU
    p50/p99, the events over 2 and 3 ms, the slow log steps (over 2 ms) and the largest GC pause."""
    data = json.loads(Path(path).read_text())
    print("| variant | kind | users | events | p50 ms | p99 ms | CPU p50 | CPU p99 | > 2 ms | > 3 ms "
          "| log > 2 ms | largest GC pause ms | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for variant, runs in data.items():
        loads = f"{min(r['load_start'] for r in runs):.1f}–{max(r['load_end'] for r in runs):.1f}"
        for kind in runs[0]["kinds"]:
            rows = [row for r in runs for row in r["kinds"][kind]]
            for label, pick in (("all", rows), (f"< {heavy}", [r for r in rows if r["n"] < heavy]),
                                (f"≥ {heavy}", [r for r in rows if r["n"] >= heavy])):
                tot, cpu = [r["total"] for r in pick], [r["cpu"] for r in pick]
                print(f"| {variant} | {kind} | {label} | {len(pick)} | {_pct(tot, 50):.2f} "
                      f"| {_pct(tot, 99):.2f} | {_pct(cpu, 50):.2f} | {_pct(cpu, 99):.2f} "
                      f"| {sum(t > 2 for t in tot)} | {sum(t > 3 for t in tot)} "
                      f"| {sum(r['steps'].get('log', 0) > 2 for r in pick)} "
                      f"| {max(r['gc'] for r in pick):.2f} | {loads} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="flat,hnsw")
    ap.add_argument("--heavy", type=int, default=HEAVY)
    ap.add_argument("--parts", action="store_true", help="time the parts inside the steps")
    ap.add_argument("--serving-gc", dest="freeze", action="store_true",
                    help="the API's serving GC policy after the open: collect, gc.freeze(), no automatic "
                         "full collections (api/gcwatch.py)")
    ap.add_argument("--profile", metavar="PREFIX",
                    help="cProfile the record calls: PREFIX.light.prof and PREFIX.heavy.prof")
    ap.add_argument("--interleave", metavar="BEFORE_SRC",
                    help="alternate events between this code and BEFORE_SRC's reasons, norm scan and "
                         "view rebuild, in one process")
    ap.add_argument("--src", help="import recsys_tui from this source tree instead")
    ap.add_argument("--ab", metavar="OTHER_SRC", help="alternate this tree and OTHER_SRC")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", help="write every event's record here")
    ap.add_argument("--pooled", metavar="AB_JSON", help="print the pooled table of an --ab JSON and exit")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pooled:
        pooled(args.pooled, args.heavy)
        return
    home = Path(args.home).resolve()
    if not (home / "sets" / args.dataset / "artifacts").is_dir():
        sys.exit(f"error: no trained {args.dataset} in {home} (run `recsys-tui --home {home} "
                 f"--dataset {args.dataset} train` first)")
    kinds = [k for k in args.kinds.split(",") if k]
    if args.ab:
        base = [sys.executable, __file__, "--home", str(home), "--dataset", args.dataset,
                "--events", str(args.events), "--seed", str(args.seed), "--kinds", args.kinds,
                "--heavy", str(args.heavy), "--child"] + (["--parts"] if args.parts else []) + \
            (["--serving-gc"] if args.freeze else [])
        here = str(Path(__file__).resolve().parents[1])
        results: dict[str, list] = {"this": [], "other": []}
        for r in range(args.rounds):
            for label, src in (("this", here), ("other", args.ab)) if r % 2 == 0 else \
                    (("other", args.ab), ("this", here)):
                done = subprocess.run([*base, "--src", src], check=True, capture_output=True, text=True)
                res = json.loads(done.stdout)
                results[label].append(res)
                show(f"round {r + 1} {label} ({src})", res, args.heavy)
                sys.stdout.flush()
        if args.json:
            Path(args.json).write_text(json.dumps(results))
        return
    if args.src:
        _use_source(args.src)
    res = run(home, args.dataset, kinds, args.events, args.seed, args.parts, args.freeze, args.profile,
              args.heavy, args.interleave)
    if args.child:
        print(json.dumps(res))
        return
    show(f"{args.home} {args.dataset}", res, args.heavy)
    if args.json:
        Path(args.json).write_text(json.dumps(res))


if __name__ == "__main__":
    main()

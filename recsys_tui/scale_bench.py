"""The scale benchmark: the whole product on synthetic ML-25M-shaped data at several scales.

Per scale, three fresh processes (so each peak RSS and start-up is its own):

1. ``generate``: the synthetic set, written to the canonical cache of a throw-away home;
2. ``measure``: data load (verified), ALS fit (64 factors), flat and HNSW index builds, batch
   top-10 for every user, event → fresh top-10 p50/p99 (flat, then HNSW with its recall@10
   against exact), catalogue search per keystroke, peak RSS after training and at the end;
3. ``startup``: the Textual app from process start to a populated login screen and on to a usable
   one (a user chosen, the main screen showing their list), then search per keystroke in the app
   (query → table filled), all in a headless pilot.

Results: one JSON file, one Markdown table, and a log–log PNG of cost against ratings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

K = 10
SEARCH_TYPING = ("synthetic movie 4321", "movie 19", "drama", "synthetic movie 77 1999", "zz")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": float(np.percentile(arr, 50)), "p99": float(np.percentile(arr, 99))}


def phase_generate(home: Path, name: str, scale: float, seed: int) -> dict:
    from recsys_tui.data.cache import write_cache
    from recsys_tui.data.synth import generate

    t0 = time.perf_counter()
    dataset, target = generate("ml-25m", scale, seed)
    gen_s = time.perf_counter() - t0
    write_cache(home / "data", dataset, name, target.labels(seed))
    return {"generate_s": gen_s, "write_s": time.perf_counter() - t0 - gen_s,
            "generate_rss_mb": _rss_mb()}


def _events(engine, n: int, seed: int) -> list[float]:
    """Fresh top-10 latency (ms, engine's own total) for ``n`` ratings of unseen items."""
    rng = np.random.default_rng(seed)
    user_ids = np.unique(engine.dataset.interactions.user_ids)
    item_ids = engine.items.ids
    out = []
    for _ in range(n):
        user = int(rng.choice(user_ids))
        seen = set(engine.user_arrays(user)[0].tolist())  # item indices the user already has
        for _ in range(100):  # an item the user has not rated (bounded)
            col = int(rng.integers(0, len(item_ids)))
            if col not in seen:
                break
        item = int(item_ids[col])
        stars = float(rng.integers(1, 11)) / 2 if engine.half_stars else float(rng.integers(1, 6))
        result = engine.record(user, item, "rating", stars, k=K, with_before=False)
        out.append(result.timings.total_ms)
    return out


def phase_measure(home_root: Path, name: str, events: int, seed: int) -> dict:
    from recsys_tui.api.gcwatch import serving_gc
    from recsys_tui.core.engine import Engine
    from recsys_tui.core.home import Home
    from recsys_tui.core.index import VectorIndex
    from recsys_tui.data.fetch import load
    from recsys_tui.training.pipeline import train

    home = Home(home_root, name)
    out: dict = {}
    t0 = time.perf_counter()
    dataset = load(home.data, name)
    out["load_s"] = time.perf_counter() - t0
    out["ratings"], out["users"], out["items"] = (len(dataset.interactions), dataset.n_users,
                                                  len(dataset.movies))
    del dataset
    result = train(home, "als", {"factors": 64}, index="flat", use_log=False)
    out["fit_s"] = result.timings["fit_s"]
    out["train_total_s"] = result.timings["total_s"]
    out["train_peak_rss_mb"] = _rss_mb()
    t1 = time.perf_counter()
    engine = Engine.open(home)
    out["engine_open_s"] = time.perf_counter() - t1
    try:
        for kind in ("flat", "hnsw"):
            t = time.perf_counter()
            VectorIndex.build(engine.model.item_factors, kind)
            out[f"index_{kind}_s"] = time.perf_counter() - t
        t2 = time.perf_counter()
        engine.recommend_all(k=K)
        out["batch_top10_s"] = time.perf_counter() - t2
        # the serving processes' collector policy (``serving_gc`` of the API worker; the app
        # freezes its heap after the log-in alike): the heap of the open (and here of training)
        # frozen, no automatic full collection in the middle of the events (docs/SCALE.md)
        serving_gc()
        out["gc_policy"] = "serving_gc"
        flat = _events(engine, events, seed)
        out["event_flat_ms"] = _pct(flat[len(flat) // 10:])
        engine.set_index("hnsw")
        hnsw = _events(engine, events, seed + 1)
        out["event_hnsw_ms"] = _pct(hnsw[len(hnsw) // 10:])
        out["hnsw_params"], out["hnsw_tuning"] = engine.index.params(), engine.index.tuning
        out.update(_hnsw_recall(engine, seed))
        keys = []
        engine.search("")  # the app's first search (all titles, at log-in) makes the rows
        for text in SEARCH_TYPING:
            for n in range(1, len(text) + 1):
                t = time.perf_counter_ns()
                engine.search(text[:n])
                keys.append((time.perf_counter_ns() - t) / 1e6)
        out["search_keystroke_ms"] = {**_pct(keys), "max": float(max(keys))}
    finally:
        engine.close()
    out["peak_rss_mb"] = _rss_mb()
    return out


def _hnsw_recall(engine, seed: int, n: int = 500) -> dict:
    """recall@10 of the engine's HNSW index against exact inner product, and its single-query
    latency, on stored user vectors held out from the ones its efSearch was tuned on."""
    from recsys_tui.core.index import VectorIndex, recall, tuning_rows

    rng = np.random.default_rng(seed)
    users = engine.model.user_factors
    held_out = np.setdiff1d(np.flatnonzero(np.any(users != 0, axis=1)), tuning_rows(users))
    pick = rng.choice(held_out, min(n, len(held_out)), replace=False) if len(held_out) else held_out
    queries = np.ascontiguousarray(users[pick])
    times = []
    for q in queries:
        t = time.perf_counter_ns()
        engine.index.search(q, K)
        times.append((time.perf_counter_ns() - t) / 1e6)
    found, _ = engine.index.search_batch(queries, K)
    flat = VectorIndex.build(engine.model.item_factors, "flat")
    exact = flat.search_batch(queries, K)[0]
    # what the hot path serves: the unseen top-10 (the user's rated items left out) against the
    # exact unseen top-10, the heaviest tenth of the same users apart
    seen = [engine.user_arrays(int(engine.trained.users.ids[row]))[0] for row in pick]
    served = [engine.index.search_unseen(q, K, s)[0] for q, s in zip(queries, seen, strict=True)]
    wanted = [flat.search_unseen(q, K, s)[0] for q, s in zip(queries, seen, strict=True)]
    hits = np.array([len(np.intersect1d(a, b)) / max(len(b), 1) for a, b in zip(served, wanted, strict=True)])
    sizes = np.array([len(s) for s in seen])
    heavy = sizes >= np.quantile(sizes, 0.9) if len(sizes) else sizes.astype(bool)
    return {"hnsw_recall_at_10": recall(found, exact), "hnsw_recall_queries": len(queries),
            "hnsw_unseen_recall_at_10": float(hits.mean()) if len(hits) else 0.0,
            "hnsw_unseen_recall_heavy": float(hits[heavy].mean()) if heavy.any() else 0.0,
            "hnsw_heavy_min_ratings": int(sizes[heavy].min()) if heavy.any() else 0,
            "hnsw_query_ms": _pct(times[len(times) // 10:])}


def phase_startup(home_root: Path, name: str, started: float) -> dict:
    """The app from process start (``started``, the parent's clock) to a filled login table
    (``startup_to_login_s``: drawn) and on to a usable app (``startup_to_usable_s``: the first
    user chosen and the main screen showing their recommendations); then catalogue search per
    keystroke as the app does it (query → engine → table filled)."""
    from recsys_tui.app_factory import make_app
    from recsys_tui.core.home import Home
    from recsys_tui.tui.pilot import workers_idle
    from recsys_tui.tui.screens.login import LoginScreen

    app = make_app(Home(home_root, name))
    seen: dict = {}

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(6000):  # bounded: ~60 s of 10 ms pauses at most
                if isinstance(app.screen, LoginScreen) and app.engine is not None:
                    shown = getattr(app.screen, "shown", [])
                    if shown:
                        seen["login_s"] = time.time() - started
                        break
                await pilot.pause(0.01)
            if "login_s" in seen:
                await app.login(app.screen.shown[0].user_id)  # type: ignore[attr-defined]
                seen["usable_s"] = time.time() - started
                await workers_idle(app)  # the log-in's own work (movie pane, profile) has finished
                filled: list[int] = []

                def on_finished(done: tuple) -> None:  # called as the table takes the rows
                    if done[0] == "search":
                        filled.append(time.perf_counter_ns())

                app.finished_signal.subscribe(app, on_finished, immediate=True)
                keys = []
                for text in SEARCH_TYPING:
                    for n in range(1, len(text) + 1):
                        t = time.perf_counter_ns()
                        await app.search(text[:n])
                        keys.append((filled[-1] - t) / 1e6)
                seen["tui_search_ms"] = {**_pct(keys), "max": float(max(keys))}
            await workers_idle(app)
            await pilot.pause()

    try:
        asyncio.run(main())
    finally:
        if app.engine is not None:
            app.engine.close()
    return {"startup_to_login_s": seen.get("login_s", float("nan")),
            "startup_to_usable_s": seen.get("usable_s", float("nan")),
            "tui_search_keystroke_ms": seen.get("tui_search_ms", {})}


def _child(args: list[str]) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "recsys_tui.scale_bench", *args], capture_output=True,
                          text=True, env=env, check=False, timeout=7200)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"scale bench phase {args[0]} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_scale(root: Path, scale: float, events: int, seed: int = 0) -> dict:
    """All three phases for one scale in a throw-away home under ``root``."""
    name = f"synth-ml-25m-{scale:g}".replace(".", "p")
    home = root / name
    row = {"scale": scale, "dataset": name}
    row.update(_child(["generate", str(home), name, str(scale), str(seed)]))
    row.update(_child(["measure", str(home), name, str(events), str(seed)]))
    row.update(_child(["startup", str(home), name, repr(time.time())]))
    return row


COLUMNS = (
    ("ratings", "ratings", "{:,.0f}"), ("users", "users", "{:,.0f}"), ("items", "items", "{:,.0f}"),
    ("load_s", "load s", "{:.2f}"), ("fit_s", "ALS fit s", "{:.1f}"),
    ("index_flat_s", "flat idx s", "{:.3f}"), ("index_hnsw_s", "HNSW idx s", "{:.2f}"),
    ("batch_top10_s", "batch top-10 s", "{:.1f}"),
    ("event_flat_ms.p50", "event flat p50 ms", "{:.2f}"), ("event_flat_ms.p99", "p99", "{:.2f}"),
    ("event_hnsw_ms.p50", "event HNSW p50 ms", "{:.2f}"), ("event_hnsw_ms.p99", "p99", "{:.2f}"),
    ("hnsw_recall_at_10", "HNSW recall@10", "{:.3f}"),
    ("hnsw_unseen_recall_at_10", "unseen recall@10", "{:.3f}"),
    ("hnsw_unseen_recall_heavy", "heaviest 10 %", "{:.3f}"), ("hnsw_params.efSearch", "efSearch", "{:.0f}"),
    ("hnsw_query_ms.p99", "HNSW query p99 ms", "{:.3f}"),
    ("startup_to_login_s", "start-up to login s", "{:.2f}"),
    ("startup_to_usable_s", "to usable s", "{:.2f}"),
    ("search_keystroke_ms.p50", "search p50 ms", "{:.1f}"), ("search_keystroke_ms.p99", "p99", "{:.1f}"),
    ("tui_search_keystroke_ms.p50", "app search p50 ms", "{:.1f}"),
    ("tui_search_keystroke_ms.p99", "p99", "{:.1f}"),
    ("train_peak_rss_mb", "train RSS MiB", "{:,.0f}"), ("peak_rss_mb", "peak RSS MiB", "{:,.0f}"),
)


def _get(row: dict, key: str):
    value = row
    for part in key.split("."):
        value = value.get(part, float("nan")) if isinstance(value, dict) else float("nan")
    return value


def table(rows: list[dict]) -> str:
    """The results as one Markdown table (a row per scale)."""
    head = "| scale | " + " | ".join(c[1] for c in COLUMNS) + " |"
    sep = "|---|" + "---|" * len(COLUMNS)
    body = [f"| {r['scale']:g} | " + " | ".join(c[2].format(_get(r, c[0])) for c in COLUMNS) + " |"
            for r in rows]
    return "\n".join([head, sep, *body])


def plot(rows: list[dict], path: Path) -> bool:
    """Log–log plot of each cost against ratings (False when matplotlib is not installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    x = [r["ratings"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for key, label in (("load_s", "data load (s)"), ("fit_s", "ALS fit, 64 factors (s)"),
                       ("index_hnsw_s", "HNSW build (s)"), ("batch_top10_s", "batch top-10 all users (s)"),
                       ("startup_to_login_s", "app start-up to login (s)"),
                       ("startup_to_usable_s", "app start-up to usable (s)"),
                       ("event_flat_ms.p99", "event→top-10 p99, flat (ms)"),
                       ("event_hnsw_ms.p99", "event→top-10 p99, HNSW (ms)"),
                       ("search_keystroke_ms.p99", "search keystroke p99 (ms)"),
                       ("tui_search_keystroke_ms.p99", "app search keystroke p99 (ms)"),
                       ("peak_rss_mb", "peak RSS (MiB)")):
        ax.plot(x, [_get(r, key) for r in rows], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("ratings (synthetic, ML-25M shape)")
    ax.set_ylabel("cost")
    ax.set_title("recsys-tui: cost against ratings (synthetic data)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tui.scale_bench")
    parser.add_argument("phase", choices=("generate", "measure", "startup"))
    parser.add_argument("home")
    parser.add_argument("name")
    parser.add_argument("arg")
    parser.add_argument("seed", nargs="?", default="0")
    args = parser.parse_args(argv)
    home = Path(args.home)
    if args.phase == "generate":
        out = phase_generate(home, args.name, float(args.arg), int(args.seed))
    elif args.phase == "measure":
        out = phase_measure(home, args.name, int(args.arg), int(args.seed))
    else:
        out = phase_startup(home, args.name, float(args.arg))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

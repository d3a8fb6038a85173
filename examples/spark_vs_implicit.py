"""Spark MLlib ALS against the implicit backend, side by side in one run (a benchmark script).

Quality (stratified protocol, K = 10) and fit time on a cached data set:

    python examples/spark_vs_implicit.py --dataset ml-100k --seeds 42,43,44 --master 'local[2]'

Timing only (full data set, no split), several data sets in one run, one JSON and one Markdown
table (data set, ratings, implicit fit, Spark fit and its parts, ratio, BLAS, load average):

    recsys-tui data synth --like ml-25m --scale 0.1 --name synth-0.1
    python examples/spark_vs_implicit.py --datasets ml-100k,synth-0.1 --timing-only \\
        --master 'local[2]' --out spark-vs-implicit

Spark runs in one JVM for the whole run (the first row's ``start`` includes launching it); its
BLAS (``--blas auto``: the system's native ``libblas.so.3`` if there is one, else Java) is chosen
then and recorded in every row. CPU seconds are given next to wall seconds: on a shared machine
they move less with the other processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import atomic_write_bytes, atomic_write_json
from recsys_tui.core.home import Home
from recsys_tui.data.cache import read_manifest
from recsys_tui.data.fetch import load
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.training.evaluate import recommend_for_test, split
from recsys_tui.training.metrics import ranking_metrics
from recsys_tui.training.spark_als import BLAS_CHOICES, fit_spark


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def compare(home: Home, seeds: list[int], args) -> list[dict]:
    """One data set: implicit then Spark on the same training data, per seed (timing: the first)."""
    dataset = load(home.data, home.dataset)
    items = np.array(sorted(dataset.movies))
    rows = []
    for seed in seeds[:1] if args.timing_only else seeds:
        if args.timing_only:
            train, test = dataset.interactions, None
        else:
            train, test = split(dataset.interactions, "stratified", seed)
        params = {"factors": args.factors, "random_state": seed}
        if args.iterations:
            params["iterations"] = args.iterations
        row: dict = {"dataset": home.dataset, "synthetic": bool(dataset.info.get("synthetic", False)),
                     "ratings": len(train), "seed": seed, "master": args.master,
                     "factors": args.factors, "load_start": _load()}
        t, c = time.perf_counter(), _cpu_s()
        implicit = TrainedModel.fit("als", train, item_ids=items, **params)
        row["implicit_fit_s"], row["implicit_cpu_s"] = time.perf_counter() - t, _cpu_s() - c
        timings: dict = {}
        info: dict = {}
        t = time.perf_counter()
        spark = fit_spark(train, items, params, master=args.master, timings=timings, info=info,
                          blas=args.blas)
        row["spark_fit_s"] = time.perf_counter() - t
        row["spark_parts_s"] = timings
        row.update(info)
        row["ratio"] = row["spark_fit_s"] / max(row["implicit_fit_s"], 1e-9)
        row["load_end"] = _load()
        if test is not None:
            for name, model in (("implicit", implicit), ("spark", spark)):
                recs, relevant = recommend_for_test(model, test, 10)
                metrics = ranking_metrics(recs, relevant, 10)
                row[f"{name}_P@10"] = round(metrics["precision"], 4)
                row[f"{name}_NDCG@10"] = round(metrics["ndcg"], 4)
        rows.append(_rounded(row))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def markdown(rows: list[dict], command: str) -> str:
    """One table row per data set and seed; Spark's parts as Parquet / start / ALS / collect / users."""
    quality = any("spark_P@10" in r for r in rows)
    head = ["data set", "ratings", "implicit fit s (CPU s)", "Spark fit s",
            "Spark parts: Parquet / start / ALS (CPU s) / collect / users", "Spark ÷ implicit",
            "Spark BLAS", "load avg start → end"]
    if quality:
        head += ["P@10 implicit / Spark", "NDCG@10 implicit / Spark"]
    lines = [f"`{command}`", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        p = r["spark_parts_s"]
        cpu = f" ({p['als_fit_cpu_s']:.1f})" if "als_fit_cpu_s" in p else ""
        parts = (f"{p.get('parquet_s', 0):.1f} / {p.get('spark_start_s', 0):.1f} / "
                 f"{p.get('als_fit_s', 0):.1f}{cpu} / {p.get('collect_s', 0):.2f} / "
                 f"{p.get('user_solve_s', 0):.1f}")
        name = r["dataset"] + (" (synthetic)" if r["synthetic"] else "")
        cells = [name, f"{r['ratings']:,}", f"{r['implicit_fit_s']:.1f} ({r['implicit_cpu_s']:.1f})",
                 f"{r['spark_fit_s']:.1f}", parts, f"{r['ratio']:.1f}×", r.get("blas", "?"),
                 f"{r['load_start']:.2f} → {r['load_end']:.2f}"]
        if quality:
            cells += [f"{r.get('implicit_P@10', '')} / {r.get('spark_P@10', '')}",
                      f"{r.get('implicit_NDCG@10', '')} / {r.get('spark_NDCG@10', '')}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None)
    parser.add_argument("--datasets", "--dataset", dest="datasets", default="ml-100k",
                        help="comma-separated cached data sets, run in this order")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=None, help="default: the ALS default (30)")
    parser.add_argument("--blas", choices=BLAS_CHOICES, default="auto")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--out", default=None,
                        help="write OUT.json and OUT.md (default: print the JSON rows only)")
    args = parser.parse_args()
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        names = [n.strip() for n in args.datasets.split(",") if n.strip()]
        homes = [Home.resolve(args.home, n) for n in names]
        for h in homes:  # every set must be cached before the first fit starts
            read_manifest(h.data, h.dataset)
    except ValueError:
        print(f"error: --seeds must be comma-separated integers, not {args.seeds!r}", file=sys.stderr)
        return 2
    except RecsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    command = "python examples/spark_vs_implicit.py " + shlex.join(sys.argv[1:])
    started = {"load_avg": os.getloadavg(), "cpus": os.cpu_count(), "time": time.time()}
    rows: list[dict] = []
    try:
        for h in homes:
            rows += compare(h, seeds, args)
    except RecsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.out:
        out = Path(args.out)
        atomic_write_json(out.with_suffix(".json"),
                          {"command": command, "start": started, "end_load_avg": os.getloadavg(),
                           "rows": rows})
        atomic_write_bytes(out.with_suffix(".md"), markdown(rows, command).encode())
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Spark MLlib ALS against the implicit backend, side by side in one run (a benchmark script).

Quality (stratified protocol, K = 10) and fit time on a cached data set:

    python examples/spark_vs_implicit.py --dataset ml-100k --seeds 42,43,44 --master 'local[2]'

Timing only (full data set, no split) on a synthetic set made with ``recsys-tui data synth``:

    recsys-tui data synth --like ml-25m --scale 0.1 --name synth-ml-25m-0.1
    python examples/spark_vs_implicit.py --dataset synth-ml-25m-0.1 --timing-only --master 'local[2]'
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from recsys_tui.core.home import Home
from recsys_tui.data.fetch import load
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.training.evaluate import recommend_for_test, split
from recsys_tui.training.metrics import ranking_metrics
from recsys_tui.training.spark_als import fit_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--timing-only", action="store_true")
    args = parser.parse_args()
    home = Home.resolve(args.home, args.dataset)
    dataset = load(home.data, home.dataset)
    items = np.array(sorted(dataset.movies))
    rows = []
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds[:1] if args.timing_only else seeds:
        if args.timing_only:
            train, test = dataset.interactions, None
        else:
            train, test = split(dataset.interactions, "stratified", seed)
        params = {"factors": args.factors, "random_state": seed}
        t = time.perf_counter()
        implicit = TrainedModel.fit("als", train, item_ids=items, **params)
        implicit_s = time.perf_counter() - t
        timings: dict = {}
        t = time.perf_counter()
        spark = fit_spark(train, items, params, master=args.master, timings=timings)
        spark_s = time.perf_counter() - t
        for name, model, seconds in (("implicit", implicit, implicit_s),
                                     (f"spark {args.master}", spark, spark_s)):
            row = {"dataset": home.dataset, "ratings": len(train), "seed": seed, "engine": name,
                   "fit_s": round(seconds, 2)}
            if name.startswith("spark"):
                row["spark_steps_s"] = {k: round(v, 2) for k, v in timings.items()}
            if test is not None:
                recs, relevant = recommend_for_test(model, test, 10)
                metrics = ranking_metrics(recs, relevant, 10)
                row.update({"P@10": round(metrics["precision"], 4), "NDCG@10": round(metrics["ndcg"], 4)})
            rows.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

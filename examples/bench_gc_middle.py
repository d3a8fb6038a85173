"""GC pauses under a stream of events for random users, for one middle-generation threshold.

Opens a trained home (a scratch copy with its own event log, as ``bench_hot_path``), applies the
serving policy (``api.gcwatch.serving_gc``), then sets the middle threshold given and records
3,000 events for random users, timing every collection.

    python examples/bench_gc_middle.py --home H --dataset synth-ml-25m --middle 10   # Python's default
    python examples/bench_gc_middle.py --home H --dataset synth-ml-25m --middle 1    # serving policy
"""
import argparse
import gc
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import bench_hot_path
from recsys_tui.api.gcwatch import NO_AUTOMATIC_FULL, serving_gc
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--middle", type=int, required=True)
    ap.add_argument("--events", type=int, default=3000)
    args = ap.parse_args()
    scratch = bench_hot_path._scratch_home(Path(args.home).resolve(), args.dataset)
    try:
        engine = Engine.open(Home(scratch, args.dataset))
        serving_gc()
        gc.set_threshold(gc.get_threshold()[0], args.middle, NO_AUTOMATIC_FULL)
        users = np.unique(engine.trained.users.ids)
        rng = np.random.default_rng(0)
        pauses: list[tuple[int, float]] = []
        start = [0]

        def watch(phase, info):
            if phase == "start":
                start[0] = time.perf_counter_ns()
            else:
                pauses.append((info["generation"], (time.perf_counter_ns() - start[0]) / 1e6))
        gc.callbacks.append(watch)
        for _ in range(args.events):
            user = int(rng.choice(users))
            engine.user_arrays(user)
            item = int(engine.items.ids[rng.integers(0, len(engine.items.ids))])
            engine.record(user, item, "rating", 4.0, with_before=False)
        gc.callbacks.remove(watch)
        engine.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ms = np.array([p for _, p in pauses])
    gen = np.array([g for g, _ in pauses])
    middle = ms[gen == 1]
    print(f"middle threshold {args.middle}: collections per generation "
          f"{[int((gen == g).sum()) for g in (0, 1, 2)]}, all pauses {ms.sum():.1f} ms, largest "
          f"{ms.max():.2f} ms, generation-1 median {np.median(middle) if len(middle) else 0:.2f} ms")


if __name__ == "__main__":
    main()

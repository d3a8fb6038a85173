"""Subprocesses the scenarios start and kill: ``python -m recsys_tui.faults.worker worker|publish-loop``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from recsys_tui.common.fsutil import atomic_write_json
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.faults.workload import event_stream, play


def worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tui.faults.worker")
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker", help="record a deterministic event stream")
    w.add_argument("--home", required=True)
    w.add_argument("--redis-url")
    w.add_argument("--users", required=True)
    w.add_argument("--n", type=int, required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--undo-share", type=float, default=0.0)
    w.add_argument("--out")
    p = sub.add_parser("publish-loop", help="publish the current model again and again")
    p.add_argument("--home", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "publish-loop":
        root = Home(Path(args.home)).artifacts
        trained = artifacts.load(root).trained
        print("ready", flush=True)
        for n in range(10_000):
            print(artifacts.publish(root, trained, info={"loop": n}), flush=True)
        return 0
    engine = Engine.open(Home(Path(args.home)), args.redis_url)
    users = [int(u) for u in args.users.split(",")]
    latencies = []
    for event in event_stream(args.seed, args.n, users, undo_share=args.undo_share):
        t0 = time.perf_counter()
        result = play(engine, event)
        latencies.append((time.perf_counter() - t0) * 1000)
        print(f"ok {result.event_id}", flush=True)
    engine.close()
    if args.out:
        atomic_write_json(Path(args.out), {"latencies_ms": latencies, "degraded": engine.degraded})
    return 0


def spawn(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "recsys_tui.faults.worker", *args], env=env, **kw)


# -- scenarios -------------------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))

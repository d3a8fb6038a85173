"""Subprocesses the scenarios start and kill: ``python -m recsys_tui.faults.worker CMD``.

``worker`` records a deterministic event stream, ``publish-loop`` publishes again and again;
``undoer`` reads commands on stdin, one a line (``undo USER``, ``quit``), and answers each with one
line (``undone <event id>`` or ``refused <reason>``): two of them sent the same line at once race
to undo the same event from two processes."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from recsys_tui.common.fsutil import atomic_write_json
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.home import Home
from recsys_tui.faults.workload import event_stream, play


def worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tui.faults.worker")
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker", help="record a deterministic event stream")
    w.add_argument("--home", required=True)
    w.add_argument("--redis-url")
    w.add_argument("--log-url")
    w.add_argument("--users", required=True)
    w.add_argument("--n", type=int, required=True)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--undo-share", type=float, default=0.0)
    w.add_argument("--out")
    p = sub.add_parser("publish-loop", help="publish the current model again and again")
    p.add_argument("--home", required=True)
    u = sub.add_parser("undoer", help="undo a user's newest event on each `undo USER` line")
    u.add_argument("--home", required=True)
    u.add_argument("--redis-url")
    u.add_argument("--log-url")
    args = parser.parse_args(argv)
    if args.cmd == "undoer":
        return undoer(Engine.open(Home(Path(args.home)), args.redis_url, log_url=args.log_url))
    if args.cmd == "publish-loop":
        root = Home(Path(args.home)).artifacts
        trained = artifacts.load(root).trained
        print("ready", flush=True)
        for n in range(10_000):
            print(artifacts.publish(root, trained, info={"loop": n}), flush=True)
        return 0
    engine = Engine.open(Home(Path(args.home)), args.redis_url, log_url=args.log_url)
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


def undoer(engine: Engine, max_lines: int = 10_000) -> int:
    """Answer ``undo USER`` lines until ``quit`` or end of input (at most ``max_lines``)."""
    print("ready", flush=True)
    for _, line in zip(range(max_lines), sys.stdin, strict=False):
        words = line.split()
        if words[:1] != ["undo"] or len(words) != 2 or not words[1].isdigit():
            break
        try:
            result = engine.undo_last(int(words[1]), k=10)
            print(f"undone {result.event_id} {result.degraded or ''}".rstrip(), flush=True)
        except EngineError as exc:
            print(f"refused {exc}", flush=True)
    engine.close()
    return 0


def spawn(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "recsys_tui.faults.worker", *args], env=env, **kw)


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))

"""A recording process for the multi-process tests and benchmark (shared log + shared store).

``python -m recsys_tui.dist_worker --home H --redis-url U --log-url L --users 1,2 --n 500 --out F``
records a deterministic event stream (``check.event_stream``); with ``--print-acks`` it prints
``ok <event id> <unix time>`` per acknowledged event (the freshness benchmark times them; a reader
that only waits for the exit would let a long run fill the pipe and stall the worker). With
``--barrier DIR --procs N`` it then waits until all N workers finished writing and records, in
``--out``, every one of its users' top-10 as this process serves it.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

from recsys_tui.common.fsutil import atomic_write_json
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.home import Home
from recsys_tui.faults.workload import event_stream, play

BARRIER_TIMEOUT_S = 600.0


def count_statements(engine: Engine) -> dict[str, int]:
    """Count the log's statements from now on (each is one round trip to the server): each
    ``append`` as one (whatever path it takes inside the log) and every other query by the SQL's
    first words (``WITH u AS (SELECT new_id, prev_id``…)."""
    counts: dict[str, int] = {}
    log = engine.log
    query, append = log._query, log.append
    appending = [False]

    def counted(sql: str, args: tuple = ()) -> list[tuple]:
        if not appending[0]:
            label = " ".join(sql.split()[:6])
            counts[label] = counts.get(label, 0) + 1
        return query(sql, args)

    def appended(*args, **kwargs):
        counts["append"] = counts.get("append", 0) + 1
        appending[0] = True
        try:
            return append(*args, **kwargs)
        finally:
            appending[0] = False

    log._query, log.append = counted, appended  # type: ignore[method-assign]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tui.dist_worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--redis-url")
    parser.add_argument("--log-url")
    parser.add_argument("--users", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--undo-share", type=float, default=0.05)
    parser.add_argument("--out", required=True)
    parser.add_argument("--barrier")
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--name", default="w")
    parser.add_argument("--go", help="wait for this file to exist before recording (a start line)")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds to sleep between events")
    parser.add_argument("--print-acks", action="store_true", help="print 'ok ID TIME' per acknowledged event")
    parser.add_argument("--hold", help="after writing --out, wait for this file to exist before closing "
                                       "(the benchmark reads the servers' per-connection CPU meanwhile)")
    args = parser.parse_args(argv)
    engine = Engine.open(Home(Path(args.home)), args.redis_url, log_url=args.log_url)
    users = [int(u) for u in args.users.split(",")]
    acked, refused, latencies = [], 0, []
    print("ready", flush=True)
    if args.go:
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while not Path(args.go).exists():
            if time.monotonic() > deadline:
                print("start line timed out", file=sys.stderr)
                return 1
            time.sleep(0.005)
    gc_time = [0.0, 0.0]  # the collector's time in this run (start stamp, total)

    def gc_clock(phase: str, info: dict) -> None:
        if phase == "start":
            gc_time[0] = time.thread_time()
        else:
            gc_time[1] += time.thread_time() - gc_time[0]

    gc.callbacks.append(gc_clock)
    statements = count_statements(engine)
    usage0, gc0 = resource.getrusage(resource.RUSAGE_SELF), [g["collections"] for g in gc.get_stats()]
    t_start = time.perf_counter()
    for event in event_stream(args.seed, args.n, users, undo_share=args.undo_share):
        t0 = time.perf_counter()
        try:
            result = play(engine, event)
        except EngineError:  # e.g. the newest event was undone by another process first
            refused += 1
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        acked.append(result.event_id)
        if args.print_acks:
            print(f"ok {result.event_id} {time.time():.6f}", flush=True)
        if args.pace:
            time.sleep(args.pace)
    elapsed = time.perf_counter() - t_start
    t_end = time.time()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    gc.callbacks.remove(gc_clock)
    # this process's own cost of the run: CPU, context switches, the garbage collector
    cost = {"user_s": usage1.ru_utime - usage0.ru_utime, "sys_s": usage1.ru_stime - usage0.ru_stime,
            "voluntary_switches": usage1.ru_nvcsw - usage0.ru_nvcsw,
            "involuntary_switches": usage1.ru_nivcsw - usage0.ru_nivcsw,
            "gc_collections": [g["collections"] - n for g, n in zip(gc.get_stats(), gc0, strict=True)],
            "gc_s": gc_time[1], "log_statements": statements}
    served: dict[str, list[int]] = {}
    if args.barrier:
        barrier = Path(args.barrier)
        (barrier / f"done-{args.name}").touch()
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while len(list(barrier.glob("done-*"))) < args.procs:
            if time.monotonic() > deadline:
                print("barrier timed out", file=sys.stderr)
                return 1
            time.sleep(0.05)
        served = {str(u): [r.item_id for r in engine.recommend(u).items] for u in users}
    atomic_write_json(Path(args.out), {
        "acked": acked, "refused": refused, "latencies_ms": latencies, "elapsed_s": elapsed,
        "t_end": t_end,
        "degraded": engine.degraded, "served": served, "cost": cost})
    if args.hold:
        deadline = time.monotonic() + BARRIER_TIMEOUT_S
        while not Path(args.hold).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

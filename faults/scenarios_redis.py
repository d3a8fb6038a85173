"""Scenarios where Redis dies: killed mid-stream (restarted empty) and unreachable at start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.home import Home
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.servers import Server, free_port
from recsys_tui.faults.verify import (
    diff_stores,
    dump_store,
    store_matches_log,
)
from recsys_tui.faults.workload import event_stream, play, run_cli


def scenario_redis_killed(home: Home, ref_home: Home, workdir: Path, n: int = 600) -> Outcome:
    """Redis SIGKILLed mid-stream, restarted empty (noticed and unnoticed): compare with a clean run."""
    out = Outcome("redis killed mid-stream")
    stream = event_stream(7, n, [*range(1, 41), 944])
    faulty = Server(workdir / "faulty").start()
    try:
        clean = Server(workdir / "clean").start()
    except BaseException:
        faulty.stop()
        raise
    try:
        ref = Engine.open(ref_home, clean.url)
        ref.new_user()
        for event in stream:
            play(ref, event)
        engine = Engine.open(home, faulty.url)
        engine.new_user()
        third = n // 3
        degraded_seen, answered = 0, 0
        for i, event in enumerate(stream):
            if i == third:
                faulty.kill()
            if i == 2 * third:
                faulty.start()
                out.fault("reconnect to an empty Redis catches up from the log",
                          engine.reconnect() is None, f"still degraded: {engine.degraded}")
            if i == 2 * third + third // 2:  # restart between two events: nobody notices
                faulty.kill()
                faulty.start()
            result = play(engine, event)
            answered += bool(result.after.items)
            degraded_seen += bool(result.degraded) and third <= i < 2 * third
        out.events_written = n
        out.events_found = engine.log.count()
        out.fault("engine keeps answering while Redis is down", answered == n,
                  f"{n - answered} events without recommendations")
        out.fault("degraded mode reported while Redis is down", degraded_seen == third,
                  f"{degraded_seen} of {third} events reported degraded")
        out.fault("every event is in the log", engine.log.count() == ref.log.count() == n,
                  f"log {engine.log.count()}, reference {ref.log.count()}, sent {n}")
        diffs = diff_stores(dump_store(engine.store.client), dump_store(ref.store.client))
        out.fault("store equals a run that never failed (every key)", not diffs, "; ".join(diffs))
        problems = store_matches_log(engine)
        out.fault("store counts and popularity equal the log", not problems, "; ".join(problems))
        same = all(np.array_equal(engine.embedding(u), ref.embedding(u)) for u in range(1, 41))
        out.fault("embeddings equal the clean run", same, "user vectors differ")
        out.notes["degraded_events"] = degraded_seen
        engine.close()
        ref.close()
    finally:
        faulty.stop()
        clean.stop()
    return out


def scenario_redis_unreachable(home: Home, workdir: Path) -> Outcome:
    """Start-up with no Redis: degraded mode, embedded fallback, and the CLI exits 0."""
    out = Outcome("redis down at start")
    dead = f"redis://:hunter2pw@127.0.0.1:{free_port()}/0"
    try:
        engine = Engine.open(home, dead)
    except Exception as exc:  # the scenario reports any escape as a crash
        out.crashes += 1
        out.fault("Engine.open on a dead Redis", False, f"{type(exc).__name__}: {exc}")
        return out
    reason = engine.degraded or ""
    out.fault("Engine.open degrades with a clear message", "unreachable" in reason and
              "hunter2pw" not in reason, reason[:160])
    result = engine.record(1, 50, "rating", 4)
    out.fault("events recorded while degraded", bool(result.degraded) and bool(result.after.items),
              f"degraded={result.degraded!r}")
    engine.close()
    fallback = Engine.open(home, dead, fallback_embedded=True)
    out.fault("fallback_embedded uses the embedded store", fallback.store.kind == "fakeredis"
              and fallback.degraded is None, f"{fallback.store.kind}, degraded={fallback.degraded}")
    fallback.close()
    rc, stdout, stderr = run_cli(["--home", str(home.root), "--redis-url", dead, "rate", "-u", "2",
                                  "-i", "60", "-r", "5"])
    log = EventLog(home.event_log)
    found = log.count()
    log.close()
    out.fault("CLI rate on a dead Redis: exit 0, degraded notice, event logged",
              rc == 0 and "degraded" in stderr and "Traceback" not in stderr and found == 2,
              f"rc={rc} stderr={stderr.strip()[:200]!r} events={found}")
    out.fault("the password never appears in output", "hunter2pw" not in stdout + stderr,
              "password printed")
    out.events_written, out.events_found = 2, found
    return out

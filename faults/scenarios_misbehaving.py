"""Scenarios where a live Redis misbehaves: it trickles its replies (slow loris), loses one reply,
runs out of memory, or evicts keys.

A real ``redis-server`` on loopback throughout, behind a real TCP proxy (``tcp_proxy``) where it
must be slow. Each scenario ends with the independent check: the log's rows read with sqlite3, the
store read with a client of its own (``independent``), equal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.faults.independent import log_problems, log_rows, redis_client, store_problems
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.servers import Server
from recsys_tui.faults.tcp_proxy import Proxy
from recsys_tui.faults.verify import seed_counts
from recsys_tui.faults.workload import run_cli

BOUND_S = 30.0
"""How long a call may take against a misbehaving server before it counts as blocked (a trickled
reply alone takes ~10 s, a whole ``rate`` minutes; the store's own deadline is 1.5 s a call)."""


def bounded(fn: Callable[[], object], seconds: float = BOUND_S) -> tuple[bool, object, float]:
    """Run ``fn`` in a thread: (finished in time, its result or exception, seconds taken)."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(fn())
        except Exception as exc:  # reported to the scenario, which judges it
            box.append(exc)

    t0 = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), (box[0] if box else None), time.monotonic() - t0


def _agrees(out: Outcome, home: Home, url: str, seed: dict[int, float], written: int) -> None:
    """The closing independent check: every event in the log once, the store equal to the log."""
    rows = log_rows(home.event_log)
    out.events_written, out.events_found = written, len(rows)
    out.fault("every event in the log exactly once (sqlite3)", len(rows) == written
              and not log_problems(rows, contiguous=True), f"{len(rows)} rows for {written} events; "
              f"{log_problems(rows, contiguous=True)}")
    problems = store_problems(url, rows, seed)
    out.fault("store equals the log (read by a separate client)", not problems, "; ".join(problems))


def scenario_slow_redis(home: Home, workdir: Path) -> Outcome:
    """Replies trickled one byte every 0.3 s, then one reply lost: nothing blocks, nothing doubles."""
    out = Outcome("slow and lossy Redis")
    server = Server(workdir / "slow").start()
    proxy = Proxy(server.port).start()
    try:
        engine = Engine.open(home, proxy.url)
        seed = seed_counts(engine)
        for n in range(5):
            engine.record(1, 50 + n, "rating", 4, with_before=False)
        proxy.mode = "trickle"
        done, result, took = bounded(lambda: engine.record(1, 60, "rating", 5, with_before=False))
        degraded = getattr(result, "degraded", None) or ""
        out.fault("rate returns while Redis trickles, degraded, event kept", done and
                  "feature store" in degraded, f"finished={done} after {took:.1f} s: {result!r:.160}")
        out.notes["trickled rate (s)"] = round(took, 2)
        done, result, took = bounded(lambda: engine.recommend(2))
        out.fault("the engine lock is free: the next call answers",
                  done and not isinstance(result, Exception),
                  f"finished={done} after {took:.1f} s: {result!r:.160}")
        t0 = time.monotonic()
        rc, _stdout, stderr = run_cli(["--home", str(home.root), "--redis-url", proxy.url, "rate", "-u", "3",
                                       "-i", "70", "-r", "3"], timeout=180)
        took = time.monotonic() - t0
        out.fault("CLI rate on a trickling Redis: exit 0, degraded notice, bounded",
                  rc == 0 and "degraded" in stderr and "Traceback" not in stderr and took < BOUND_S,
                  f"rc={rc} after {took:.1f} s: {stderr.strip()[-200:]!r}")
        out.notes["trickled CLI rate (s)"] = round(took, 1)
        proxy.mode = "pass"
        out.fault("the store is caught up once Redis answers again", engine.reconnect() is None,
                  f"{engine.degraded}")
        proxy.mode = "drop_reply"  # the next write reaches Redis, its reply is lost: retried once
        result = engine.record(1, 61, "rating", 2, with_before=False)
        out.fault("a write whose reply was lost is applied once", proxy.mode == "pass" and
                  result.degraded is None, f"proxy {proxy.mode}, degraded={result.degraded!r}")
        engine.close()
        _agrees(out, home, server.url, seed, written=8)
    finally:
        proxy.stop()
        server.stop()
    return out


def scenario_evicting_redis(home: Home, workdir: Path) -> Outcome:
    """Eviction policies checked at connect, a full Redis, and keys lost as eviction loses them."""
    out = Outcome("evicting and full Redis")
    written = 0
    lru = Server(workdir / "lru", extra_args=["--maxmemory-policy", "allkeys-lru"]).start()
    try:
        engine = Engine.open(home, lru.url)
        reason = engine.degraded or ""
        out.fault("allkeys-lru is refused at connect, naming noeviction",
                  "allkeys-lru" in reason and "noeviction" in reason, reason[:160])
        result = engine.record(1, 50, "rating", 4, with_before=False)
        written += 1
        out.fault("the engine keeps working from the log", bool(result.degraded) and bool(result.after.items),
                  f"degraded={result.degraded!r}")
        engine.close()
        client = redis_client(lru.url)
        leaked = client.dbsize()
        client.close()
        out.fault("nothing was written to the evicting server", leaked == 0, f"{leaked} keys")
    finally:
        lru.stop()
    volatile = Server(workdir / "volatile", extra_args=["--maxmemory-policy", "volatile-lru"]).start()
    try:
        engine = Engine.open(home, volatile.url)
        problems = engine.status().store_problems
        out.fault("volatile-lru is accepted with a warning in status", engine.degraded is None and
                  any("volatile-lru" in p for p in problems), f"{engine.degraded} {problems}")
        engine.close()
    finally:
        volatile.stop()
    server = Server(workdir / "noeviction").start()
    try:
        engine = Engine.open(home, server.url)
        seed = seed_counts(engine)
        for item in (51, 52, 53):
            engine.record(4, item, "rating", 4, with_before=False)
        written += 3
        client = redis_client(server.url)
        try:
            client.config_set("maxmemory", 1)  # full: every write is refused with OOM
            result = engine.record(4, 54, "click", with_before=False)
            written += 1
            out.fault("a full Redis (OOM) degrades; the event stays in the log", bool(result.degraded),
                      f"degraded={result.degraded!r}")
            client.config_set("maxmemory", 0)
            out.fault("room again: the store catches up", engine.reconnect() is None, f"{engine.degraded}")
            client.delete("rs:v1:{u:4}:meta")  # what allkeys-lru would take
            engine.record(4, 55, "view", with_before=False)  # the user's next event finds it gone
            written += 1
            problems = engine.status().store_problems
            out.fault("a lost user hash is rebuilt from the log and status says so",
                      any("meta missing" in p for p in problems), f"{problems}")
            client.delete("rs:v1:{g}:pop")
            problems = engine.status().store_problems
            out.fault("status names lost popularity (never healthy)",
                      any("popularity" in p for p in problems), f"{problems}")
        finally:
            client.close()
        new = engine.new_user()
        engine.record(5, 56, "view", with_before=False)
        cold = engine.popular_items(new, 10)
        written += 1
        out.fault("lost keys rebuilt from the log: no double count, cold start from every rating",
                  engine.degraded is None and engine.store.user(4).counts == {"rating": 3, "click": 1,
                                                                              "view": 1}
                  and len(cold) == 10 and len(engine.store.popularity()) > 1000,
                  f"counts {engine.store.user(4).counts}, {len(cold)} cold-start items")
        engine.close()
        _agrees(out, home, server.url, seed, written)
    finally:
        server.stop()
    return out

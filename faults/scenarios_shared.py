"""Scenarios where homes and processes share one store: two homes on one Redis, two processes
undoing the same event at once, the store or the PostgreSQL log killed under a running engine.

Each runs on any ``Backends`` (SQLite + redis-server, or PostgreSQL + a 3-master Redis Cluster)
and ends with the independent check: the log's rows read by their own driver, the store read by a
client of its own, equal; no event lost, none counted twice.
"""

from __future__ import annotations

import select
import subprocess
import time
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.faults.backends import Backends, Distributed
from recsys_tui.faults.independent import log_problems, log_rows, store_problems
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.verify import seed_counts
from recsys_tui.faults.worker import spawn
from recsys_tui.faults.workload import copy_home, event_stream, play

REPLY_TIMEOUT_S = 120.0
RECOVER_S = 60.0


def agrees(out: Outcome, backends: Backends, home: Home, log_url: str | None, url: str,
           seed: dict[int, float], written: int | None = None, label: str = "") -> list:
    """The closing independent check of one home's log against the store; returns the rows."""
    rows = log_rows(home.event_log, log_url)
    problems = log_problems(rows, backends.contiguous_ids)
    if written is not None:
        out.events_written += written
        out.events_found += len(rows)
        if len(rows) != written:
            problems.insert(0, f"{len(rows)} rows for {written} events")
    out.fault(f"{label}every event in the log exactly once ({'sqlite3' if log_url is None else 'psycopg'})",
              not problems, "; ".join(problems))
    problems = store_problems(url, rows, seed)
    out.fault(f"{label}store equals the log (read by a separate client)", not problems, "; ".join(problems))
    return rows


def scenario_shared_store(backends: Backends, template: Home, workdir: Path, n: int = 40) -> Outcome:
    """Two homes pointed at one Redis database: the second is refused, never mixed in silently."""
    out = Outcome("two homes, one store")
    homes = [copy_home(template, workdir / "host-a"), copy_home(template, workdir / "host-b")]
    urls = [backends.log_url(), backends.log_url()]
    with backends.store(workdir) as target:
        a = Engine.open(homes[0], target.url, log_url=urls[0])
        seed = seed_counts(a)
        for event in event_stream(21, n, [*range(1, 11)], undo_share=0.0):
            play(a, event)
        b = Engine.open(homes[1], target.url, log_url=urls[1])
        reason = b.degraded or ""
        out.fault("the second home is refused, naming the other event log",
                  "another event log" in reason, reason[:160])
        answered = 0
        for event in event_stream(22, n, [*range(1, 11)], undo_share=0.0):
            answered += bool(play(b, event).after.items)
        out.fault("the refused home keeps working from its own log", answered == n,
                  f"{answered} of {n} answered")
        out.fault("its events stay out of the first home's store", b.reconnect() is not None,
                  "the second home was let in on reconnect")
        b.close()
        a.close()
        agrees(out, backends, homes[0], urls[0], target.url, seed, written=n, label="first home: ")
        rows = log_rows(homes[1].event_log, urls[1])
        out.events_written += n
        out.events_found += len(rows)
        out.fault("second home: each event in its own log once", len(rows) == n, f"{len(rows)} of {n}")
    return out


def _reply(proc: subprocess.Popen) -> str:
    """One answer line from an undoer, or ``timeout``."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], REPLY_TIMEOUT_S)
    return proc.stdout.readline().strip() if ready else "timeout"


def scenario_undo_race(backends: Backends, home: Home, workdir: Path, rounds: int = 20) -> Outcome:
    """Two processes undo the same user's newest event at the same instant, round after round:
    each event is cancelled at most once and the store is decremented once."""
    out = Outcome("racing undos, two processes")
    log_url = backends.log_url()
    with backends.store(workdir) as target:
        engine = Engine.open(home, target.url, log_url=log_url)
        seed = seed_counts(engine)
        args = ["undoer", "--home", str(home.root), "--redis-url", target.url,
                *(["--log-url", log_url] if log_url else [])]
        procs = [spawn(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, bufsize=1) for _ in range(2)]
        try:
            ready = [_reply(p) for p in procs]
            out.fault("both undo processes started", ready == ["ready", "ready"], f"{ready}")
            replies: list[str] = []
            user = 6
            for r in range(rounds if ready == ["ready", "ready"] else 0):
                engine.record(user, 100 + 2 * r, "rating", 2, with_before=False)
                engine.record(user, 101 + 2 * r, "click", with_before=False)
                for proc in procs:
                    assert proc.stdin is not None
                    proc.stdin.write(f"undo {user}\n")
                    proc.stdin.flush()
                replies += [_reply(p) for p in procs]
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.close()
                proc.wait(60)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        won = sum(r.startswith("undone ") for r in replies)
        odd = [r for r in replies if not r.startswith("undone ") and "nothing undone" not in r]
        out.fault("each undo is done or cleanly refused", not odd and len(replies) == 2 * rounds,
                  f"{odd[:3]}")
        engine.reconnect()
        engine.close()
        rows = agrees(out, backends, home, log_url, target.url, seed, written=2 * rounds + won)
        markers = [r for r in rows if r[3] == "undo"]
        out.fault("one winner per event: as many undo markers as undos acknowledged", len(markers) == won,
                  f"{len(markers)} markers, {won} acknowledged")
        out.notes["undos acknowledged"] = f"{won} of {2 * rounds} tried"
    return out


def _recover(engine: Engine) -> str | None:
    """Reconnect until the store answers (a restarted cluster node needs a moment), bounded."""
    deadline = time.monotonic() + RECOVER_S
    while (reason := engine.reconnect()) is not None and time.monotonic() < deadline:
        time.sleep(0.5)
    return reason


def scenario_store_killed(backends: Backends, home: Home, workdir: Path, n: int = 300) -> Outcome:
    """The store SIGKILLed under a running engine and restarted empty (on a Cluster: the global
    slot's master): answers go on, the log keeps everything, the store is rebuilt exactly."""
    out = Outcome("store killed mid-stream")
    log_url = backends.log_url()
    users = [*range(1, 31)]
    stream = event_stream(3, n, users)
    with backends.store(workdir) as target:
        engine = Engine.open(home, target.url, log_url=log_url)
        seed = seed_counts(engine)
        answered = degraded = 0
        for i, event in enumerate(stream):
            if i == n // 3:
                target.kill()
            if i == 2 * n // 3:
                target.restart()
            result = play(engine, event)
            answered += bool(result.after.items)
            degraded += bool(result.degraded) and n // 3 <= i < 2 * n // 3
        out.fault(f"{target.label} killed: the engine answers every event", answered == n,
                  f"{answered} of {n}")
        out.fault("degraded mode reported while the store is down", degraded > 0,
                  f"{degraded} of {n - 2 * (n // 3)} events reported degraded")
        reason = _recover(engine)
        out.fault("restarted empty: rebuilt from the log", reason is None, f"{reason}")
        fresh = Engine.open(home, target.url, log_url=log_url)
        same = all([r.item_id for r in engine.recommend(u).items] == [r.item_id for r in
                                                                      fresh.recommend(u).items]
                   and np.array_equal(engine.embedding(u), fresh.embedding(u)) for u in users[:5])
        out.fault("a fresh process serves what the running one serves", same, "recommendations differ")
        fresh.close()
        engine.close()
        agrees(out, backends, home, log_url, target.url, seed, written=n)
        out.notes["degraded events"] = degraded
    return out


def scenario_log_killed(backends: Distributed, home: Home, workdir: Path, n: int = 300) -> Outcome:
    """The PostgreSQL server crashes (``pg_ctl stop -m immediate``) under a running engine and comes
    back: events meanwhile are refused with one clear error, never acknowledged; afterwards the
    same process logs again on a new connection, every acknowledged event is in the log once and
    the store equals the log."""
    out = Outcome("event log server killed")
    log_url = backends.log_url()
    assert backends.pg is not None
    stream = event_stream(9, n, [*range(1, 21)])
    with backends.store(workdir) as target:
        engine = Engine.open(home, target.url, log_url=log_url)
        seed = seed_counts(engine)
        acked: list[int] = []
        refused: dict[str, list[str]] = {"before": [], "down": [], "after": []}
        for i, event in enumerate(stream):
            if i == n // 3:
                backends.pg.kill()
            if i == 2 * n // 3:
                backends.pg.restart()
            phase = "before" if i < n // 3 else "down" if i < 2 * n // 3 else "after"
            try:
                acked.append(play(engine, event).event_id)
            except RecsysError as exc:  # refused: the log could not commit it (or nothing to undo)
                refused[phase].append(str(exc))
        down = 2 * (n // 3) - n // 3
        unclear = [r for r in refused["down"] if "\n" in r or "event log" not in r]
        out.fault("while PostgreSQL is down every event is refused with one clear line",
                  len(refused["down"]) == down and not unclear,
                  f"{len(refused['down'])} refused of {down} sent while down; {unclear[:1]}")
        lost = [r for r in refused["before"] + refused["after"] if "event log" in r]
        out.fault("the same process logs again once PostgreSQL is back (a new connection)", not lost,
                  f"{len(lost)} refused by the log outside the outage, e.g. {lost[:1]}")
        reason = _recover(engine)
        out.fault("the store is caught up afterwards", reason is None, f"{reason}")
        engine.close()
        rows = agrees(out, backends, home, log_url, target.url, seed, written=len(acked))
        ids = [r[0] for r in rows]
        out.fault("every acknowledged event in the log once, no refused one", sorted(acked) == ids,
                  f"{len(ids)} rows, {len(acked)} acknowledged")
        out.notes["refused while down"] = len(refused["down"])
    return out

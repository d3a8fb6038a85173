"""Benchmark issue 16's targets on loopback: PostgreSQL event log + 3-master Redis Cluster.

    python examples/bench_distributed.py --events 2000 --json dist-bench.json

Starts a throw-away PostgreSQL (initdb + pg_ctl) and a Redis Cluster on free loopback ports,
copies the trained default home (``recsys-tui --home H train`` first) into two "hosts", and
measures, in one run:

1. event → fresh top-10 latency (p50/p99) in one process (``Engine.record``: log commit,
   fold-in, store write, search, rerank), with each step's p50/p99/mean (``result.timings``),
   the CPU each event costs this process, the PostgreSQL server and the Redis nodes (``/proc``
   via psutil), and the Redis requests and scripts per event on each master (``INFO``);
2. aggregate events/s with 4 processes (2 per home, distinct users) vs 1 process (``--rounds N``:
   alternated N times, medians);
3. cross-process freshness: a writer process records for user U; this process polls the engine
   every 250 ms (the app's timer) and times ack-in-A → visible-in-B, p50/p99.

``--only latency`` (or any comma-separated subset) runs some sections. Everything is stopped and
removed at the end. Numbers depend on the machine's load: say it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import psycopg
import redis
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.core.results import STEPS
from recsys_tui.faults.local_servers import PostgresServer, RedisClusterServers
from recsys_tui.faults.workload import copy_home, event_stream, play

SECTIONS = {"latency", "throughput", "freshness"}
APP_POLL_S = 0.25  # the main screen's timer (tui/screens/main.py POLL_S)


ASYNC_COMMIT = "?options=-csynchronous_commit%3Doff"


def new_db(pg: PostgresServer, name: str, async_commit: bool = False) -> str:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg.url.rsplit("/", 1)[0] + f"/{name}" + (ASYNC_COMMIT if async_commit else "")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def spawn(home: Home, redis_url: str, log_url: str, users: list[int], n: int, out: Path, seed: int,
          go: Path | None = None, pace: float = 0.0, undo: float = 0.05, acks: bool = False,
          hold: Path | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "recsys_tui.dist_worker", "--home", str(home.root), "--redis-url",
            redis_url, "--log-url", log_url, "--users", ",".join(map(str, users)), "--n", str(n),
            "--seed", str(seed), "--out", str(out), "--undo-share", str(undo), "--pace", str(pace)]
    if go is not None:
        args += ["--go", str(go)]
    if acks:
        args.append("--print-acks")
    if hold is not None:
        args += ["--hold", str(hold)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_workers(homes: list[Home], cluster: RedisClusterServers, pg: PostgresServer, log_url: str, n: int,
                procs: int, work: Path, waits: bool = False) -> dict:
    """``procs`` workers, distinct users each, released together; aggregate events/s, and where the
    run's CPU went: each worker (its own rusage), each PostgreSQL process, each Redis node, per
    event; the round trips per event (the log's statements counted by the workers, Redis requests and
    commands by the nodes); with ``waits`` PostgreSQL's wait events
    (``pg_stat_activity`` sampled every 20 ms by another connection, which costs a little CPU)."""
    cluster.flush()
    # a start line and a hold line of this run's own: a file left by an earlier round would let
    # the workers start before the others are ready, and before the clock starts
    go, hold = work / f"go-{procs}", work / f"hold-{procs}"
    go.unlink(missing_ok=True)
    hold.unlink(missing_ok=True)
    workers, outs = [], []
    for p in range(procs):
        out = work / f"tp-{procs}-{p}.json"
        out.unlink(missing_ok=True)
        outs.append(out)
        users = list(range(1 + 40 * p, 41 + 40 * p))
        workers.append(spawn(homes[p % len(homes)], cluster.url, log_url, users, n, out, seed=p, go=go,
                             hold=hold))
    for w in workers:  # wait until every worker has opened its engine
        assert w.stdout is not None
        line = w.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"worker failed to start: {line} {w.stderr.read() if w.stderr else ''}")
    db = log_url.rsplit("/", 1)[1].split("?")[0]
    servers = server_processes(pg, cluster)
    before = {"redis": redis_counts(cluster), "procs": proc_costs(servers)}
    sampler = WaitSampler(pg, db) if waits else None
    t_go = time.time()
    cpu0 = cpu_ticks()
    go.touch()
    while not all(o.exists() for o in outs) and all(w.poll() is None for w in workers):
        time.sleep(0.01)  # every worker has written its result and holds its connections open
    busy, total = (b - a for a, b in zip(cpu0, cpu_ticks(), strict=True))
    t_busy = time.time() - t_go
    after_procs = proc_costs(servers)
    waited = sampler.stop() if sampler is not None else None
    after = {"redis": redis_counts(cluster)}
    hold.touch()
    for w in workers:
        _, err = w.communicate(timeout=3600)
        if w.returncode != 0:
            raise SystemExit(f"worker failed: {err[-400:]}")
    results = [json.loads(o.read_text()) for o in outs]
    events = sum(len(r["acked"]) + r["refused"] for r in results)
    acked = sum(len(r["acked"]) for r in results)
    wall = max(r["t_end"] for r in results) - t_go
    out = {"procs": procs, "events": acked, "wall_s": wall, "events_per_s": acked / wall,
           "degraded": [r["degraded"] for r in results if r["degraded"]],
           # how many of the machine's cores were busy (workers, PostgreSQL, Redis, anything else)
           "cores_busy": round(busy / total * (os.cpu_count() or 1), 2) if total else None}
    out["per_event"] = per_event_costs(results, before, after, after_procs, events)
    if out["cores_busy"] is not None:  # the machine's busy cores that none of the run's processes
        ours = out["per_event"]["cpu_ms"]["total"] * events / 1000 / t_busy  # used: other jobs, kernel
        out["cores_busy_others"] = round(max(out["cores_busy"] - ours, 0.0), 2)
    if waited is not None:
        out["pg_waits"] = waited
    return out


class WaitSampler:
    """PostgreSQL's wait events of ``db``'s active backends, sampled every 20 ms on a thread."""

    def __init__(self, pg: PostgresServer, db: str) -> None:
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._conn = psycopg.connect(pg.url, autocommit=True)
        self._db = db
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rows = self._conn.execute(
                "SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU'), count(*) "
                "FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                "AND pid <> pg_backend_pid() GROUP BY 1",
                (self._db,)).fetchall()
            self.samples += 1
            for what, count in rows:
                self.counts[what] = self.counts.get(what, 0) + int(count)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()
        return {"samples": self.samples, "active_backends_seen": dict(sorted(self.counts.items(),
                                                                             key=lambda kv: -kv[1]))}


def redis_counts(cluster: RedisClusterServers) -> dict[str, int]:
    """Per master so far: requests read (``PORT reads``) and each command's calls (``PORT cmd``)."""
    out: dict[str, int] = {}
    for port in cluster.master_ports():
        with redis.Redis(host="127.0.0.1", port=port) as node:
            out[f"{port} reads"] = int(node.info("stats")["total_reads_processed"])
            for name, stat in node.info("commandstats").items():
                out[f"{port} {name.removeprefix('cmdstat_')}"] = int(stat["calls"])
    return out


def proc_costs(servers: dict[str, list[psutil.Process]]) -> dict[str, tuple[str, float, int, int]]:
    """``pid`` → (role, user+system CPU seconds, voluntary, involuntary context switches) of every
    PostgreSQL process (the backends are ``backend``) and Redis node, read from ``/proc``."""
    out: dict[str, tuple[str, float, int, int]] = {}
    pg_root = servers["postgres"][0]
    for kind, procs in servers.items():
        for proc in [*procs, *(pg_root.children() if kind == "postgres" else [])]:
            try:
                times, switches = proc.cpu_times(), proc.num_ctx_switches()
                title = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            role = kind if kind == "redis" else "postmaster" if proc.pid == pg_root.pid else pg_role(title)
            out[str(proc.pid)] = (role, times.user + times.system, switches.voluntary, switches.involuntary)
    return out


def pg_role(title: str) -> str:
    """The PostgreSQL helper's title (``walwriter``…), else ``backend`` (a client's connection,
    whose title changes with what it does)."""
    words = title.removeprefix("postgres: ").split()
    helpers = ("checkpointer", "background", "walwriter", "autovacuum", "logical", "archiver", "startup")
    if not words or words[0] not in helpers or "(" in title:
        return "backend"
    return " ".join(words[:2]) if words[0] == "background" else words[0]


def per_event_costs(results: list[dict], before: dict, after: dict, after_procs: dict, events: int) -> dict:
    """CPU ms and context switches per event by who paid them, and server requests per event."""
    n = max(events, 1)
    costs = [r["cost"] for r in results]
    cpu = {"workers": sum(c["user_s"] + c["sys_s"] for c in costs) * 1000 / n,
           "workers_user": sum(c["user_s"] for c in costs) * 1000 / n,
           "workers_sys": sum(c["sys_s"] for c in costs) * 1000 / n,
           "workers_gc": sum(c["gc_s"] for c in costs) * 1000 / n}
    switches = {"workers_voluntary": sum(c["voluntary_switches"] for c in costs) / n,
                "workers_involuntary": sum(c["involuntary_switches"] for c in costs) / n}
    for pid, (role, seconds, vol, invol) in after_procs.items():
        _, s0, v0, i0 = before["procs"].get(pid, (role, 0.0, 0, 0))
        key = "pg_" + role.replace(" ", "_") if role != "redis" else "redis"
        cpu[key] = cpu.get(key, 0.0) + (seconds - s0) * 1000 / n
        switches[f"{key}_voluntary"] = switches.get(f"{key}_voluntary", 0) + (vol - v0) / n
        switches[f"{key}_involuntary"] = switches.get(f"{key}_involuntary", 0) + (invol - i0) / n
    cpu["total"] = cpu["workers"] + sum(v for k, v in cpu.items() if k.startswith(("pg_", "redis")))
    pg: dict[str, float] = {}  # counted by the workers (PostgreSQL's own counters lag by up to a second)
    for c in costs:
        for label, count in c["log_statements"].items():
            pg[label] = round(pg.get(label, 0) + count / n, 3)
    reqs: dict[str, float] = {}
    for key, value in after["redis"].items():
        cmd = key.split(" ", 1)[1]
        reqs[cmd] = reqs.get(cmd, 0.0) + (value - before["redis"].get(key, 0)) / n
    return {"cpu_ms": {k: round(v, 3) for k, v in cpu.items()},
            "switches": {k: round(v, 2) for k, v in switches.items()},
            "gc_collections": [sum(c["gc_collections"][g] for c in costs) for g in range(3)],
            "postgres": pg, "redis": {k: round(v, 3) for k, v in sorted(reqs.items()) if v}}


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (``/proc/stat``; Linux)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def throughput(homes: list[Home], cluster: RedisClusterServers, pg: PostgresServer,
               args: argparse.Namespace, work: Path) -> dict:
    """1 process then 4, ``--rounds`` times alternated (each on a new database); the speedup is
    the median 4-process rate over the median 1-process rate (a busy machine moves single runs)."""
    ones, fours = [], []
    for n in range(args.rounds):
        ones.append(run_workers(homes, cluster, pg, new_db(pg, f"one{n}", args.async_commit), args.events,
                                1, work, args.waits))
        fours.append(run_workers(homes, cluster, pg, new_db(pg, f"four{n}", args.async_commit), args.events,
                                 4, work, args.waits))
    one = float(np.median([r["events_per_s"] for r in ones]))
    four = float(np.median([r["events_per_s"] for r in fours]))
    out: dict = {"one": ones[0], "four": fours[0], "speedup": four / one,
                 "runs": {"one": ones, "four": fours}}
    if args.rounds > 1:
        out.update(rounds=args.rounds, one_events_per_s=[r["events_per_s"] for r in ones],
                   four_events_per_s=[r["events_per_s"] for r in fours], one_median=one, four_median=four,
                   one_cores_busy=[r["cores_busy"] for r in ones],
                   four_cores_busy=[r["cores_busy"] for r in fours])
    return out


def freshness(homes: list[Home], cluster: RedisClusterServers, log_url: str, n: int, work: Path) -> dict:
    """A writer in home A records for one user; this process (home B) polls like the app does."""
    cluster.flush()
    user = 500
    reader = Engine.open(homes[1], cluster.url, log_url=log_url)
    reader.recommend(user)
    acks: dict[int, float] = {}
    writer = spawn(homes[0], cluster.url, log_url, [user], n, work / "fresh.json", seed=9,
                   pace=0.05, undo=0.0, acks=True)

    def collect() -> None:
        assert writer.stdout is not None
        for line in writer.stdout:
            parts = line.split()
            if parts and parts[0] == "ok":
                acks[int(parts[1])] = float(parts[2])

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()
    views: list[tuple[float, int]] = []  # (when B's view moved, the newest event it then showed)
    seen = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (writer.poll() is None or seen < max(acks, default=0)):
        time.sleep(APP_POLL_S)
        if reader.poll(user):
            seen = reader._state(user, sync=False).last_event_id
            views.append((time.time(), seen))
    writer.wait(60)
    thread.join(10)
    reader.close()
    # an event's lag: from its ack in A to the first poll in B whose view includes it
    lags = [next(t for t, top in views if top >= i) - t_ack for i, t_ack in acks.items()
            if any(top >= i for _, top in views)]
    return {"events": len(acks), "measured": len(lags), "poll_s": APP_POLL_S,
            "p50_ms": pct(lags, 50) * 1000, "p99_ms": pct(lags, 99) * 1000,
            "max_ms": max(lags, default=float("nan")) * 1000}


def server_processes(pg: PostgresServer, cluster: RedisClusterServers) -> dict[str, list[psutil.Process]]:
    """PostgreSQL's processes (the postmaster and its children: backends, WAL writer...) and the
    Redis nodes'."""
    assert pg.root is not None
    postmaster = psutil.Process(int((pg.root / "data" / "postmaster.pid").read_text().split()[0]))
    return {"postgres": [postmaster, *postmaster.children(recursive=True)],
            "redis": [psutil.Process(proc.pid) for proc in cluster.procs.values()]}


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of ``procs`` so far (a process that exited counts no more)."""
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def request_counts(cluster: RedisClusterServers) -> dict[str, int]:
    """Per master so far: ``PORT reads`` (client socket reads, i.e. requests: the round trips this
    process made) and ``PORT evalsha`` (scripts run); the commands a script runs are not counted."""
    counts = redis_counts(cluster)
    out = {k: v for k, v in counts.items() if k.endswith((" reads", " evalsha"))}
    for port in cluster.master_ports():
        out.setdefault(f"{port} evalsha", 0)
    return out


def latency(home: Home, cluster: RedisClusterServers, pg: PostgresServer, log_url: str, n: int) -> dict:
    """``n`` events through ``Engine.record`` after 50 unmeasured: the call's wall time and each
    step's time (``result.timings.steps``, as ``recsys-tui bench`` reports them), p50/p99; the
    CPU per event of this process and of each server kind; Redis commands per event per node."""
    cluster.flush()
    engine = Engine.open(home, cluster.url, log_url=log_url)
    stream = event_stream(1, n + 50, list(range(1, 41)), undo_share=0.0)
    for event in stream[:50]:  # warm-up
        play(engine, event)
    servers = server_processes(pg, cluster)
    me = psutil.Process()
    cpu0 = {"client": cpu_seconds([me]), **{k: cpu_seconds(v) for k, v in servers.items()}}
    probe = request_counts(cluster)
    calls0 = request_counts(cluster)  # the reads one count itself makes: calls0 - probe
    ms: list[float] = []
    steps: dict[str, list[float]] = {s: [] for s in STEPS}
    for event in stream[50:]:
        t0 = time.perf_counter()
        result = play(engine, event)
        ms.append((time.perf_counter() - t0) * 1000)
        for step in STEPS:
            steps[step].append(result.timings.steps.get(step, 0.0))
    cpu1 = {"client": cpu_seconds([me]), **{k: cpu_seconds(v) for k, v in servers.items()}}
    calls1 = request_counts(cluster)
    degraded = engine.degraded
    engine.close()
    per_node = {k: round((v - 2 * calls0.get(k, 0) + probe.get(k, 0)) / n, 3) for k, v in calls1.items()}
    return {"events": n, "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "degraded": degraded,
            "steps_ms": {s: {"p50": pct(v, 50), "p99": pct(v, 99), "mean": float(np.mean(v))}
                         for s, v in steps.items()},
            "cpu_ms_per_event": {k: round((cpu1[k] - cpu0[k]) * 1000 / n, 3) for k in cpu0},
            "redis_per_event": per_node}


def step_table(result: dict) -> str:
    """The latency section's per-step p50/p99/mean as a small text table."""
    rows = [f"  {'step':<10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}"]
    for step, q in result["steps_ms"].items():
        rows.append(f"  {step:<10}{q['p50']:>9.3f}{q['p99']:>9.3f}{q['mean']:>9.3f}")
    rows.append(f"  {'record()':<10}{result['p50_ms']:>9.3f}{result['p99_ms']:>9.3f}")
    return "\n".join(rows)


def cost_table(runs: dict) -> str:
    """Per event, each throughput run side by side: CPU ms by who paid it, context switches, the
    log's statements, Redis requests and commands."""
    cols = [(f"{label}#{n}", r["per_event"]) for label in ("one", "four") for n, r in enumerate(runs[label])]
    rows = [f"  {'per event':<34}" + "".join(f"{name:>10}" for name, _ in cols)]
    for section in ("cpu_ms", "switches", "postgres", "redis"):
        names = sorted({k for _, c in cols for k, v in c[section].items() if v})  # rows not all zero
        for key in names:
            cells = "".join(f"{c[section].get(key, 0):>10.3f}" for _, c in cols)
            rows.append(f"  {section + ' ' + key:<34}{cells}")
    rows.append(f"  {'events/s':<34}" + "".join(f"{r['events_per_s']:>10.1f}" for label in ("one", "four")
                                                 for r in runs[label]))
    rows.append(f"  {'cores busy':<34}" + "".join(f"{r['cores_busy']:>10.2f}" for label in ("one", "four")
                                                   for r in runs[label]))
    others = [r.get("cores_busy_others", float("nan")) for label in ("one", "four") for r in runs[label]]
    rows.append(f"  {'  of which not this run (others)':<34}" + "".join(f"{o:>10.2f}" for o in others))
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per process (default 2000)")
    parser.add_argument("--fresh-events", type=int, default=200)
    parser.add_argument("--home", help="a trained home to copy (default: the default home)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--async-commit", action="store_true",
                        help="PostgreSQL synchronous_commit=off (no WAL fsync wait per event; see "
                             "docs/DISTRIBUTED.md §1 for what that risks)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="throughput: alternate 1 and 4 processes this many times (medians)")
    parser.add_argument("--waits", action="store_true",
                        help="throughput: also sample PostgreSQL's wait events every 20 ms (costs CPU)")
    parser.add_argument("--only", default="latency,throughput,freshness",
                        help="comma-separated sections to run (default: all three)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.only = set(args.only.split(","))
    if not args.only or not args.only <= SECTIONS:
        parser.error(f"--only takes a comma-separated subset of {', '.join(sorted(SECTIONS))}")
    src = Home.resolve(args.home)
    pg, cluster = PostgresServer(), RedisClusterServers(masters=3)
    work = Path(tempfile.mkdtemp(prefix="recsys-dist-bench-"))
    try:
        pg.start()
        cluster.start()
        if artifacts.current_version(src.artifacts) is None:  # no model yet: train one (ALS)
            from recsys_tui.data.cache import cache_dir
            from recsys_tui.training.pipeline import train

            trained = Home(work / "trained")
            shutil.copytree(cache_dir(src.data), cache_dir(trained.data))
            train(trained, "als")
            src = trained
        homes = [copy_home(src, work / "host-a"), copy_home(src, work / "host-b")]
        out = {"load_avg": os.getloadavg(), "cpus": os.cpu_count(), "async_commit": args.async_commit}
        mode = args.async_commit
        if "latency" in args.only:
            out["latency"] = latency(homes[0], cluster, pg, new_db(pg, "lat", mode), args.events)
            print("event → top-10 (1 process):", json.dumps(out["latency"]), flush=True)
            print(step_table(out["latency"]), flush=True)
            print("  CPU ms per event:", out["latency"]["cpu_ms_per_event"], flush=True)
            print("  Redis requests per event on each master:", out["latency"]["redis_per_event"], flush=True)
        if "throughput" in args.only:
            out["throughput"] = throughput(homes, cluster, pg, args, work)
            print("throughput:", json.dumps({k: v for k, v in out["throughput"].items() if k != "runs"}),
                  flush=True)
            print(cost_table(out["throughput"]["runs"]), flush=True)
        if "freshness" in args.only:
            out["freshness"] = freshness(homes, cluster, new_db(pg, "fresh", mode), args.fresh_events,
                                         work)
            print("cross-process freshness:", json.dumps(out["freshness"]), flush=True)
        out["load_avg_after"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2))
    finally:
        cluster.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fault suite: inject real faults into a throw-away home and a real ``redis-server``.

Each scenario returns an ``Outcome``: the faults it injected, which of them were survived (with the
reason when not), events written and found afterwards, bad inputs tried and crashes. ``run_suite``
runs them all for ``recsys-tui check``; the tests in ``tests/test_faults.py`` and
``tests/test_concurrency.py`` call the same scenarios and helpers.

Never touches the user's own event log: everything happens in a temp home holding a copy of the
dataset cache and of the current model.

Also runnable as ``python -m recsys_tui.check worker|publish-loop ...``: the subprocesses the
scenarios start and kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import atomic_write_json, sha256_file
from recsys_tui.core import artifacts, keys
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.home import Home
from recsys_tui.core.results import percentile
from recsys_tui.data.cache import cache_dir, has_cache

REDIS_BINARY = shutil.which("redis-server")
KEY_SCHEMA = re.compile(r"^rs:v1:(\{u:[1-9]\d*\}:(meta|recent|emb)|\{g\}:(pop|wm|epoch|seen|lock:rebuild))$")
"""Every key the feature store may hold (tests check a whole session against it)."""


class CheckError(RecsysError):
    """The fault suite cannot run (no redis-server, no dataset)."""


# -- bookkeeping -------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one scenario injected and what survived."""

    name: str
    faults: list[tuple[str, bool, str]] = field(default_factory=list)
    events_written: int = 0
    events_found: int = 0
    bad_inputs: int = 0
    crashes: int = 0
    notes: dict[str, object] = field(default_factory=dict)

    def fault(self, what: str, ok: bool, detail: str = "") -> bool:
        self.faults.append((what, bool(ok), detail))
        return ok

    @property
    def injected(self) -> int:
        return len(self.faults)

    @property
    def survived(self) -> int:
        return sum(ok for _, ok, _ in self.faults)

    @property
    def failures(self) -> list[str]:
        return [f"{what}: {detail}" for what, ok, detail in self.faults if not ok]


def totals(outcomes: list[Outcome]) -> dict[str, int]:
    """The report's headline numbers (``--json`` keys)."""
    return {
        "faults_injected": sum(o.injected for o in outcomes),
        "faults_survived": sum(o.survived for o in outcomes),
        "events_written": sum(o.events_written for o in outcomes),
        "events_found": sum(o.events_found for o in outcomes),
        "bad_inputs_tried": sum(o.bad_inputs for o in outcomes),
        "crashes": sum(o.crashes for o in outcomes),
    }


# -- real redis-server processes -----------------------------------------------------------------

def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One ``redis-server`` on loopback without persistence; ``kill`` is SIGKILL, so a restarted
    server comes back empty. Also the tests' server (``tests/redis_server.py``)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> Server:
        if REDIS_BINARY is None:
            raise CheckError("the fault suite needs the redis-server binary on PATH "
                             "(e.g. apt install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [REDIS_BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no", *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CheckError(f"redis-server exited with {self.proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            time.sleep(0.02)
        raise CheckError("redis-server did not start in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


# -- homes, streams, store snapshots -------------------------------------------------------------

def copy_home(src: Home, dest: Path) -> Home:
    """A fresh home with ``src``'s dataset cache and current model only (never its event log)."""
    dest.mkdir(parents=True)
    shutil.copytree(cache_dir(src.data), cache_dir(dest / "data"))
    version = artifacts.current_version(src.artifacts)
    if version is not None:
        shutil.copytree(src.artifacts / version, dest / "artifacts" / version)
        artifacts.set_current(dest / "artifacts", version)
    return Home(dest)


def event_stream(seed: int, n: int, users: list[int], n_items: int = 1682,
                 undo_share: float = 0.05) -> list[tuple[str, int, int, int | None]]:
    """A deterministic mix of ratings, clicks, views and undos: (kind, user, item, rating)."""
    rng = random.Random(seed)
    out: list[tuple[str, int, int, int | None]] = []
    live: Counter[int] = Counter()
    for _ in range(n):
        user = rng.choice(users)
        roll = rng.random()
        if roll < undo_share and live[user]:
            out.append(("undo", user, 0, None))
            live[user] -= 1
        elif roll < 0.25:
            out.append((rng.choice(("click", "view")), user, rng.randint(1, n_items), None))
            live[user] += 1
        else:
            out.append(("rating", user, rng.randint(1, n_items), rng.randint(1, 5)))
            live[user] += 1
    return out


def play(engine: Engine, event: tuple[str, int, int, int | None], k: int = 10):
    """Send one stream entry to the engine (an undo cancels the user's newest event)."""
    kind, user, item, rating = event
    if kind == "undo":
        return engine.undo_last(user, k)
    return engine.record(user, item, kind, rating, k=k, with_before=False)


def dump_store(client) -> dict[str, object]:
    """Every key of a Redis database with its decoded value (epoch's creation time left out)."""
    out: dict[str, object] = {}
    for raw in client.scan_iter(match="*", count=1000):
        key = raw.decode()
        kind = client.type(key).decode()
        if key == keys.REBUILD_LOCK:
            continue
        if kind == "hash":
            value = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
            if key == keys.EPOCH:
                value.pop("created", None)
        elif kind == "list":
            value = [v.decode() for v in client.lrange(key, 0, -1)]
        elif kind == "zset":
            value = {m.decode(): s for m, s in client.zrange(key, 0, -1, withscores=True)}
        elif kind == "string":
            value = client.get(key)
        else:
            value = f"<{kind}>"
        out[key] = value
    return out


def _stable(value: object) -> object:
    """A meta hash without ``updated`` (the wall-clock time of the user's newest event)."""
    if isinstance(value, dict) and "last_event_id" in value:
        return {k: v for k, v in value.items() if k != "updated"}
    return value


def diff_stores(a: dict[str, object], b: dict[str, object], limit: int = 5) -> list[str]:
    """Keys whose values differ (or exist on one side only), wall-clock times aside."""
    diffs = []
    for key in sorted(set(a) | set(b)):
        if _stable(a.get(key)) != _stable(b.get(key)):
            diffs.append(f"{key}: {str(a.get(key, '<missing>'))[:80]} != {str(b.get(key, '<missing>'))[:80]}")
    return diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])


def expected_popularity(engine: Engine) -> dict[int, float]:
    """Training counts plus every live (not undone) logged event, per item."""
    expected = {int(i): float(c) for i, c in zip(engine.catalogue.item_ids, engine.catalogue.n_ratings,
                                                 strict=True)}
    for event in engine.log.events():
        expected[event.item_id] = expected.get(event.item_id, 0.0) + 1
    return expected


def store_matches_log(engine: Engine) -> list[str]:
    """Differences between the feature store and the log: per-user counts, popularity, watermark."""
    problems = []
    for user in sorted(engine.log.last_per_user()):
        counts = Counter(e.kind for e in engine.log.events(user))
        have = engine.store.user(user).counts
        if any(have[k] != counts.get(k, 0) for k in have):
            problems.append(f"user {user}: store counts {have} != log {dict(counts)}")
    pop = engine.store.popularity()
    expected = expected_popularity(engine)
    wrong = [i for i in expected if pop.get(i, 0.0) != expected[i]]
    if wrong:
        problems.append(f"{len(wrong)} items' popularity differ, e.g. item {wrong[0]}: "
                        f"store {pop.get(wrong[0])} != {expected[wrong[0]]}")
    if engine.store.watermark() != engine.log.max_id():
        problems.append(f"watermark {engine.store.watermark()} != newest event {engine.log.max_id()}")
    return problems[:5]


def log_consistent(path: Path) -> list[str]:
    """SQLite integrity, contiguous ids, undo markers pointing at earlier events of the same user."""
    log = EventLog(path)
    try:
        problems = []
        if (status := log.integrity()) != "ok":
            problems.append(f"integrity_check: {status}")
        events = list(log.iter_all())
        ids = [e.id for e in events]
        if ids != list(range(1, len(ids) + 1)):
            problems.append(f"event ids are not contiguous from 1 ({len(ids)} events, "
                            f"max {max(ids, default=0)})")
        by_id = {e.id: e for e in events}
        for e in events:
            if e.kind == "undo" and (e.undoes not in by_id or by_id[e.undoes].user_id != e.user_id
                                     or e.undoes >= e.id):
                problems.append(f"undo marker {e.id} points at {e.undoes}")
        return problems
    finally:
        log.close()


def run_cli(args: list[str], env: dict | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """``recsys-tui ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "recsys_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {}), "COLUMNS": "200"})
    return proc.returncode, proc.stdout, proc.stderr


def one_clean_line(stderr: str, progress: bool = False) -> str | None:
    """``None`` when stderr is exactly one line without a traceback, else what is wrong.

    With ``progress`` the stage lines a long command prints first (``· load``) are allowed.
    """
    lines = [line for line in stderr.splitlines() if line.strip()
             and not (progress and line.lstrip().startswith("·"))]
    if "Traceback" in stderr:
        return f"traceback on stderr: {stderr.strip().splitlines()[-1][:160]}"
    if len(lines) != 1:
        return f"{len(lines)} stderr lines: {stderr.strip()[:200]!r}"
    return None


# -- subprocess workers --------------------------------------------------------------------------

def _worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys_tui.check")
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


def _spawn(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "recsys_tui.check", *args], env=env, **kw)


# -- scenarios -------------------------------------------------------------------------------

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


def scenario_process_killed(home: Home, workdir: Path, n: int = 4000, kills: int = 2) -> Outcome:
    """SIGKILL a process recording a burst of events; the log stays intact, the next start catches up."""
    out = Outcome("process killed in burst")
    server = Server(workdir / "burst").start()
    rng = random.Random(11)
    try:
        acked_total = 0
        for round_ in range(kills):
            proc = _spawn(["worker", "--home", str(home.root), "--redis-url", server.url,
                           "--users", ",".join(map(str, range(1, 31))), "--n", str(n),
                           "--seed", str(round_), "--undo-share", "0.05"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            target, acked = rng.randint(100, 400), []
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("ok "):
                    acked.append(int(line.split()[1]))
                if len(acked) >= target:
                    break
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            acked += [int(line.split()[1]) for line in proc.stdout if line.startswith("ok ")]
            acked_total += len(acked)
            log = EventLog(home.event_log)
            ids = {e.id for e in log.iter_all()}
            log.close()
            missing = [i for i in acked if i not in ids]
            out.fault(f"kill #{round_ + 1}: every acknowledged event is in the log", not missing,
                      f"{len(missing)} acknowledged events missing")
            problems = log_consistent(home.event_log)
            out.fault(f"kill #{round_ + 1}: log intact and consistent", not problems, "; ".join(problems))
            engine = Engine.open(home, server.url)
            problems = store_matches_log(engine)
            out.fault(f"kill #{round_ + 1}: next start applies exactly the committed events",
                      not problems and engine.degraded is None, "; ".join(problems))
            out.events_found = engine.log.count()
            engine.close()
        out.events_written = acked_total
        out.notes["unacknowledged_but_committed"] = out.events_found - acked_total
    finally:
        server.stop()
    return out


def scenario_publish_killed(home: Home, rounds: int = 4) -> Outcome:
    """SIGKILL a process that keeps publishing versions; the current one always loads whole."""
    out = Outcome("killed during publish")
    root = home.artifacts
    rng = random.Random(5)
    for r in range(rounds):
        before = artifacts.current_version(root)
        proc = _spawn(["publish-loop", "--home", str(home.root)], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready": the model is loaded, publishing starts now
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        current = artifacts.current_version(root)
        try:
            loaded = artifacts.load(root).version
        except RecsysError as exc:
            loaded = f"refused: {exc}"
        out.fault(f"kill #{r + 1}: CURRENT names a complete version that loads",
                  current is not None and loaded == current and current >= (before or ""),
                  f"current={current} loaded={loaded}")
        bad = []
        for version in artifacts.versions(root):
            try:
                artifacts.verify(root / version)
            except RecsysError as exc:
                bad.append(f"{version}: {exc}")
        out.fault(f"kill #{r + 1}: no half version visible", not bad, "; ".join(bad[:3]))
    # A staged folder left by a crash and a complete version CURRENT was never moved to.
    current = artifacts.current_version(root)
    staged = root / ".v0999-20990101T000000.abc123.tmp"
    staged.mkdir()
    (staged / "model.npz").write_bytes(b"PK\x03\x04 half written")
    orphan = root / "v0999-20990101T000000"
    shutil.copytree(root / str(current), orphan)
    (orphan / "model.npz").write_bytes((orphan / "model.npz").read_bytes()[:1000])
    engine = Engine.open(home)
    out.fault("staged and orphan folders are ignored; the previous version stays current",
              engine.version == current, f"engine loaded {engine.version}, expected {current}")
    engine.close()
    try:
        artifacts.load(root, orphan.name)
        out.fault("a half version is refused when asked for by name", False, "it loaded")
    except artifacts.ArtifactError as exc:
        out.fault("a half version is refused when asked for by name", "recsys-tui train" in str(exc),
                  str(exc))
    shutil.rmtree(orphan)
    shutil.rmtree(staged)
    left = [p for p in root.iterdir() if p.name.endswith(".tmp")]
    out.notes["staged folders left by the kills (a publish sweeps them after 1 h)"] = len(left)
    return out


def _rewrite_manifest(folder: Path, **changes: str) -> None:
    manifest = json.loads((folder / artifacts.MANIFEST).read_text())
    manifest["sha256"].update(changes)
    (folder / artifacts.MANIFEST).write_text(json.dumps(manifest))


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corruptions() -> list[tuple[str, Callable[[Home], None], str]]:
    """(what, damage(home), the recovery command the error must name)."""
    train, fetch = "recsys-tui train", "recsys-tui data fetch --force"

    def cur(home: Home) -> Path:
        return home.artifacts / str(artifacts.current_version(home.artifacts))

    def truncated_resigned(home: Home) -> None:
        folder = cur(home)
        _truncate(folder / "model.npz")
        _rewrite_manifest(folder, **{"model.npz": sha256_file(folder / "model.npz")})

    def garbage_index_resigned(home: Home) -> None:
        folder = cur(home)
        (folder / artifacts.INDEX_FILE).write_bytes(os.urandom(4096))
        _rewrite_manifest(folder, **{artifacts.INDEX_FILE: sha256_file(folder / artifacts.INDEX_FILE)})

    def data_resigned(home: Home) -> None:
        folder = cache_dir(home.data)
        _truncate(folder / "ratings.npz")
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["sha256"]["ratings.npz"] = sha256_file(folder / "ratings.npz")
        (folder / "manifest.json").write_text(json.dumps(manifest))

    return [
        ("truncated model.npz", lambda h: _truncate(cur(h) / "model.npz"), train),
        ("truncated npz with a matching checksum", truncated_resigned, train),
        ("changed bytes in index.faiss", lambda h: _flip(cur(h) / artifacts.INDEX_FILE), train),
        ("garbage index with a matching checksum", garbage_index_resigned, train),
        ("missing index file", lambda h: (cur(h) / artifacts.INDEX_FILE).unlink(), train),
        ("manifest checksum mismatch", lambda h: _rewrite_manifest(cur(h), **{"vocab.npz": "0" * 64}), train),
        ("manifest is not JSON", lambda h: (cur(h) / artifacts.MANIFEST).write_text("{garbage"), train),
        ("CURRENT names garbage",
         lambda h: (h.artifacts / artifacts.CURRENT).write_text("../../etc\n"), train),
        ("CURRENT names a missing version",
         lambda h: (h.artifacts / artifacts.CURRENT).write_text("v9999-20990101T000000\n"), train),
        ("dataset: changed bytes in ratings.npz", lambda h: _flip(cache_dir(h.data) / "ratings.npz"), fetch),
        ("dataset: truncated movies.json", lambda h: _truncate(cache_dir(h.data) / "movies.json"), fetch),
        ("dataset: truncated npz with a matching checksum", data_resigned, fetch),
        ("dataset: manifest is not JSON",
         lambda h: (cache_dir(h.data) / "manifest.json").write_text("{nope"), fetch),
    ]


def scenario_corrupt(template: Home, workdir: Path, quick: bool = False) -> Outcome:
    """Each corruption on a fresh copy; the CLI refuses with one line naming the recovery."""
    out = Outcome("corrupt model/dataset")
    cases = corruptions()
    if quick:
        cases = cases[::2]
    for n, (what, damage, hint) in enumerate(cases):
        home = copy_home(template, workdir / f"corrupt-{n}")
        damage(home)
        rc, _, stderr = run_cli(["--home", str(home.root), "recommend", "--user", "1"])
        problem = one_clean_line(stderr)
        ok = rc == 1 and problem is None and hint in stderr
        out.crashes += "Traceback" in stderr
        out.fault(what, ok, f"rc={rc} {problem or stderr.strip()[:200]}")
    return out


@contextlib.contextmanager
def small_filesystem(path: Path, size_kb: int) -> Iterator[bool]:
    """A tmpfs of ``size_kb`` at ``path`` (needs root and mount rights); yields whether it worked."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                                 capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(folder: Path) -> None:
    """Write a filler file until the file system reports ENOSPC (blocks down to single bytes)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 16, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("filler") and "events.sqlite3" not in p.name}


def scenario_disk(template: Home, workdir: Path) -> Outcome:
    """Disk full (a small tmpfs) and a read-only home: clear one-line errors, nothing half-written."""
    out = Outcome("disk full, read-only")
    mnt = workdir / "small-fs"
    with small_filesystem(mnt, 12 * 1024) as mounted:
        if not mounted:
            out.notes["disk_full"] = "skipped: mounting a small tmpfs needs root"
        else:
            home = copy_home(template, mnt / "home")
            engine = Engine.open(home)
            for i in range(5):
                engine.record(1, 10 + i, "rating", 4)
            engine.close()
            before = _snapshot(home.root)
            live = Engine.open(home)  # a session already running when the disk fills up
            fill_disk(mnt)
            landed, refused = 0, 0
            for i in range(50):
                try:
                    live.record(2, 100 + i, "rating", 3, with_before=False)
                    landed += 1
                except RecsysError:
                    refused += 1
                except Exception as exc:  # counted as a crash
                    out.crashes += 1
                    out.notes["disk_full_crash"] = f"{type(exc).__name__}: {exc}"[:200]
            live.close()
            out.fault("disk full in a running session: each event lands whole or is refused cleanly",
                      landed + refused == 50, f"{landed} landed, {refused} refused")
            for args in (["rate", "-u", "1", "-i", "99", "-r", "5"], ["train", "--model", "popularity"],
                         ["train", "--model", "popularity", "--no-log"]):
                rc, _, stderr = run_cli(["--home", str(home.root), *args])
                problem = one_clean_line(stderr, progress=True)
                out.crashes += "Traceback" in stderr
                what = " ".join(a for a in args if a in ("rate", "train", "--no-log"))
                out.fault(f"disk full: {what} fails with one clear line", rc == 1 and problem is None,
                          f"rc={rc} {problem or stderr.strip()[:160]}")
                out.notes[f"disk_full: {what}"] = (stderr.strip().splitlines() or [""])[-1][:200]
            leftovers = [p.name for p in home.artifacts.iterdir() if p.name.startswith(".")]
            unchanged = _snapshot(home.root) == before
            (mnt / "filler").unlink()  # room again: the log must open and be intact
            problems = log_consistent(home.event_log)
            out.fault("disk full: nothing half-written", unchanged and not leftovers and not problems,
                      f"files changed={not unchanged} leftovers={leftovers} log={problems}")
            log = EventLog(home.event_log)
            out.events_written, out.events_found = 5 + landed, log.count()
            log.close()
            out.fault("disk full: committed events kept, refused ones absent",
                      out.events_found == out.events_written, f"{out.events_found} of {out.events_written}")
            out.notes["disk_full_session"] = f"{landed} events landed, {refused} refused"
    ro = workdir / "ro-home"
    with small_filesystem(ro, 16 * 1024) as mounted:
        home = copy_home(template, ro / "home")
        if mounted:
            ok = subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True).returncode == 0
        else:
            os.chmod(home.root, 0o555)
            ok = os.geteuid() != 0
        try:
            if not ok:
                out.notes["read_only"] = "skipped: running as root without mount rights"
            else:
                for args in (["rate", "-u", "1", "-i", "99", "-r", "5"], ["train", "--model", "popularity"]):
                    rc, _, stderr = run_cli(["--home", str(home.root), *args])
                    problem = one_clean_line(stderr, progress=True)
                    out.crashes += "Traceback" in stderr
                    out.fault(f"read-only home: {args[0]} refused with one clear line",
                              rc == 1 and problem is None and "writable" in stderr,
                              f"rc={rc} {problem or stderr.strip()[:160]}")
                    out.notes[f"read_only_{args[0]}"] = stderr.strip()[:200]
        finally:
            if not mounted:
                os.chmod(home.root, 0o755)
    not_a_dir = workdir / "home-is-a-file"
    not_a_dir.write_text("x")
    rc, _, stderr = run_cli(["--home", str(not_a_dir), "rate", "-u", "1", "-i", "2", "-r", "3"])
    out.fault("home that is a file: one clear line", rc == 1 and one_clean_line(stderr) is None,
              f"rc={rc} {stderr.strip()[:160]}")
    return out


def scenario_concurrency(home: Home, workdir: Path, procs: int = 4, n: int = 500) -> Outcome:
    """``procs`` processes × ``n`` events on one Redis and one home: nothing lost, counts exact."""
    out = Outcome(f"load {procs} procs × {n}")
    server = Server(workdir / "load").start()
    try:
        Engine.open(home, server.url).close()  # seed the store once
        users = ",".join(map(str, range(1, 21)))  # shared users: every process writes every user
        files = [workdir / f"lat-{i}.json" for i in range(procs)]
        workers = [_spawn(["worker", "--home", str(home.root), "--redis-url", server.url, "--users", users,
                           "--n", str(n), "--seed", str(100 + i), "--out", str(files[i])],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for i in range(procs)]
        errors = []
        for w in workers:
            _, err = w.communicate(timeout=1800)
            if w.returncode:
                errors.append(err.strip().splitlines()[-1][:160] if err.strip() else f"exit {w.returncode}")
        out.fault("every process finished", not errors, "; ".join(errors))
        latencies = [x for f in files if f.exists() for x in json.loads(f.read_text())["latencies_ms"]]
        engine = Engine.open(home, server.url)
        out.events_written = procs * n
        out.events_found = engine.log.count()
        out.fault("zero lost events", out.events_found == procs * n, f"{out.events_found} of {procs * n}")
        problems = store_matches_log(engine) + log_consistent(home.event_log)
        out.fault("exact popularity and per-user counts", not problems, "; ".join(problems))
        engine.close()
        out.notes.update(p50_ms=round(percentile(latencies, 50, 0.0), 3),
                         p99_ms=round(percentile(latencies, 99, 0.0), 3))
    finally:
        server.stop()
    return out


def scenario_bad_inputs(home: Home, seed: int = 3, n: int = 400) -> Outcome:
    """Random and hostile inputs to the parsers and the engine: clean errors only, no crash."""
    from recsys_tui.data import parsers

    out = Outcome("bad input (parse/api)")
    rng = random.Random(seed)
    alphabet = "0123456789 \t\n,|:.-+eE%'\";`\\/\0\x85\u2028é²٣\ufeff" + "abcxyz"
    texts = ["", "\0", "user_id,item_id,rating,timestamp\n1,2,3", "1\t2\t3\t4\n" * 3, "1|x|" + "|" * 30,
             "'; DROP TABLE events; --", "%", "9" * 5000, "1 2 3 ²"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(n)]
    parse_fns = [parsers.parse_udata, parsers.parse_interactions_text, parsers.parse_uitem,
                 parsers.parse_uuser, parsers.parse_recbole_item, parsers.parse_recbole_user]
    def attempt(label: str, fn: Callable, *args, expected: tuple = (RecsysError,), **kw) -> bool:
        """True when ``fn`` accepted the input, False on a clean refusal; other errors are crashes."""
        out.bad_inputs += 1
        try:
            fn(*args, **kw)
        except expected:
            return False
        except Exception as exc:  # anything else is a crash: count and describe it
            out.crashes += 1
            out.notes.setdefault("crash_examples", []).append(f"{label}: {type(exc).__name__}: {exc}"[:200])
            return False
        return True

    for text in texts:
        for fn in parse_fns:
            attempt(f"{fn.__name__}({text[:30]!r})", fn, text)
        for fn in (parsers.parse_id, parsers.parse_rating, parsers.parse_timestamp):
            attempt(f"{fn.__name__}({text[:30]!r})", fn, text, expected=(ValueError,))
    engine = Engine.open(home)
    values = [0, -1, 1, 2**31, 2**63, 1.5, float("nan"), float("inf"), True, None, "1", "1; DROP TABLE",
              b"1", [], 944, 1682, 1683, 42, 500, 3]
    before = engine.log.count()
    accepted = 0
    for _ in range(n):
        args = (rng.choice(values), rng.choice(values),
                rng.choice(["rating", "click", "view", "undo", "'; --", ""]), rng.choice([*values, 3, 5]))
        accepted += attempt(f"record{args}", engine.record, *args,
                            k=rng.choice([1, 10, 0, -5, 10**6, "10"]), with_before=False)
    for text in texts[:100]:
        attempt(f"search({text[:30]!r})", engine.search, text, user_id=1)
    stray = [k for k in engine.store.all_keys() if not KEY_SCHEMA.match(k)]
    out.fault("every store key follows the schema", not stray, f"stray keys {stray[:5]}")
    out.fault("only valid events were logged", engine.log.count() - before == accepted,
              f"{engine.log.count() - before} logged, {accepted} accepted")
    out.fault("no crash on bad input", out.crashes == 0, "; ".join(out.notes.get("crash_examples", [])[:3]))
    out.events_written = out.events_found = accepted
    engine.close()
    return out


def scenario_cli_bad_args(home: Home, quick: bool = False) -> Outcome:
    """Hostile command lines: usage errors and refusals, each one line, never a traceback."""
    out = Outcome("bad command lines")
    h = ["--home", str(home.root)]
    cases = [
        ["rate", "-u", "abc", "-i", "1", "-r", "5"], ["rate", "-u", "1", "-i", "99999", "-r", "5"],
        ["rate", "-u", "-3", "-i", "1", "-r", "5"], ["rate", "-u", "1", "-i", "1", "-r", "'; DROP TABLE"],
        ["recommend", "--user", str(2**63)], ["recommend", "--user", "1", "-k", "0"],
        ["similar", "-i", "0"], ["click", "-u", "1", "-i", "1", "--kind", "purchase"],
        ["--redis-url", "http://user:sekrit@x/0", "recommend", "--user", "1"], ["undo", "-u", "5000"],
        ["history", "-u", "1", "-f", "xml"], ["recommend", "--user", "1", "--all-users"],
    ]
    if quick:
        cases = cases[::3]
    for args in cases:
        out.bad_inputs += 1
        rc, stdout, stderr = run_cli(h + args)
        problem = one_clean_line(stderr)
        crashed = "Traceback" in stderr
        out.crashes += crashed
        out.fault(" ".join(args)[:60], rc in (1, 2) and problem is None and "sekrit" not in stdout + stderr,
                  f"rc={rc} {problem or stderr.strip()[:160]}")
    return out


# -- the suite -------------------------------------------------------------------------------

def prepare(user_home: Home, workdir: Path, say: Callable[[str], None]) -> Home:
    """A template home: the user's dataset cache and model (trained here if there is none)."""
    if not has_cache(user_home.data):
        raise CheckError(f"no dataset in {user_home.data}; run `recsys-tui data fetch` first")
    template = workdir / "template"
    template.mkdir(parents=True)
    shutil.copytree(cache_dir(user_home.data), cache_dir(template / "data"))
    version = None
    with contextlib.suppress(RecsysError):
        version = artifacts.load(user_home.artifacts).version
    if version is not None:
        shutil.copytree(user_home.artifacts / version, template / "artifacts" / version)
        artifacts.set_current(template / "artifacts", version)
    else:
        from recsys_tui.training.pipeline import train

        say("training a model in the temp home (none published yet)")
        train(Home(template), "als")
    return Home(template)


SCENARIOS = ("redis-killed", "redis-unreachable", "process-killed", "publish-killed", "corrupt",
             "disk", "concurrency", "bad-inputs", "cli-args")


def run_suite(user_home: Home, quick: bool = False, say: Callable[[str], None] = lambda _t: None,
              only: tuple[str, ...] = SCENARIOS) -> list[Outcome]:
    """Run the scenarios in a temp folder; each scenario's escape counts as one failed fault."""
    if REDIS_BINARY is None:
        raise CheckError("`recsys-tui check` needs the redis-server binary on PATH "
                         "(e.g. apt install redis-server)")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="recsys-check-") as tmp:
        work = Path(tmp)
        template = prepare(user_home, work, say)
        counter = iter(range(1000))

        def fresh() -> Home:
            return copy_home(template, work / f"home-{next(counter)}")

        def scratch(name: str) -> Path:
            path = work / f"{name}-{next(counter)}"
            path.mkdir()
            return path

        plan: dict[str, Callable[[], Outcome]] = {
            "redis-killed": lambda: scenario_redis_killed(fresh(), fresh(), scratch("redis"),
                                                          n=300 if quick else 1500),
            "redis-unreachable": lambda: scenario_redis_unreachable(fresh(), scratch("dead")),
            "process-killed": lambda: scenario_process_killed(fresh(), scratch("burst"),
                                                              kills=1 if quick else 3),
            "publish-killed": lambda: scenario_publish_killed(fresh(), rounds=2 if quick else 6),
            "corrupt": lambda: scenario_corrupt(template, scratch("corrupt"), quick),
            "disk": lambda: scenario_disk(template, scratch("disk")),
            "concurrency": lambda: scenario_concurrency(fresh(), scratch("load"), 4, 500 if quick else 5000),
            "bad-inputs": lambda: scenario_bad_inputs(fresh(), n=200 if quick else 1000),
            "cli-args": lambda: scenario_cli_bad_args(fresh(), quick),
        }
        for name in only:
            say(f"running {name}")
            try:
                outcomes.append(plan[name]())
            except Exception as exc:  # a scenario that blows up is a failed fault, not a crash of check
                failed = Outcome(name)
                failed.fault("scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
                outcomes.append(failed)
    return outcomes


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))

"""Scenarios where our own process dies: SIGKILL in a burst of events and during a publish."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.faults.backends import Backends, Embedded
from recsys_tui.faults.independent import log_problems, log_rows, store_problems
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.verify import (
    log_consistent,
    seed_counts,
    store_matches_log,
)
from recsys_tui.faults.worker import spawn


def scenario_process_killed(home: Home, workdir: Path, n: int = 4000, kills: int = 2,
                            backends: Backends | None = None) -> Outcome:
    """SIGKILL a process recording a burst of events; the log stays intact, the next start catches up."""
    backends = backends or Embedded()
    out = Outcome("process killed in burst")
    rng = random.Random(11)
    log_url = backends.log_url()
    with backends.store(workdir) as target:
        seed: dict[int, float] = {}
        acked_total = 0
        for round_ in range(kills):
            proc = spawn(["worker", "--home", str(home.root), "--redis-url", target.url,
                          *(["--log-url", log_url] if log_url else []),
                          "--users", ",".join(map(str, range(1, 31))), "--n", str(n),
                          "--seed", str(round_), "--undo-share", "0.05"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            target_acks, acked = rng.randint(100, 400), []
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("ok "):
                    acked.append(int(line.split()[1]))
                if len(acked) >= target_acks:
                    break
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            acked += [int(line.split()[1]) for line in proc.stdout if line.startswith("ok ")]
            acked_total += len(acked)
            rows = log_rows(home.event_log, log_url)
            ids = {r[0] for r in rows}
            missing = [i for i in acked if i not in ids]
            out.fault(f"kill #{round_ + 1}: every acknowledged event is in the log", not missing,
                      f"{len(missing)} acknowledged events missing")
            problems = log_problems(rows, backends.contiguous_ids)
            if log_url is None:
                problems += log_consistent(home.event_log)
            out.fault(f"kill #{round_ + 1}: log intact and consistent", not problems, "; ".join(problems))
            engine = Engine.open(home, target.url, log_url=log_url)
            seed = seed or seed_counts(engine)
            problems = store_matches_log(engine) + store_problems(target.url, rows, seed)
            out.fault(f"kill #{round_ + 1}: next start applies exactly the committed events",
                      not problems and engine.degraded is None, "; ".join(problems))
            out.events_found = len(rows)
            engine.close()
        out.events_written = acked_total
        out.notes["unacknowledged_but_committed"] = out.events_found - acked_total
    return out


def scenario_publish_killed(home: Home, rounds: int = 4) -> Outcome:
    """SIGKILL a process that keeps publishing versions; the current one always loads whole."""
    out = Outcome("killed during publish")
    root = home.artifacts
    rng = random.Random(5)
    for r in range(rounds):
        before = artifacts.current_version(root)
        proc = spawn(["publish-loop", "--home", str(home.root)], stdout=subprocess.PIPE,
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

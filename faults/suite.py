"""The whole suite for ``recsys-tui check``: a template home, the scenario plan, one outcome each."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.home import Home
from recsys_tui.data.cache import cache_dir, has_cache
from recsys_tui.faults.backends import Backends, make
from recsys_tui.faults.outcome import CheckError, Outcome
from recsys_tui.faults.scenarios_files import (
    scenario_corrupt,
    scenario_disk,
)
from recsys_tui.faults.scenarios_hostile import scenario_hostile_text
from recsys_tui.faults.scenarios_load import scenario_bad_inputs, scenario_cli_bad_args, scenario_concurrency
from recsys_tui.faults.scenarios_misbehaving import scenario_evicting_redis, scenario_slow_redis
from recsys_tui.faults.scenarios_process import scenario_process_killed, scenario_publish_killed
from recsys_tui.faults.scenarios_redis import scenario_redis_killed, scenario_redis_unreachable
from recsys_tui.faults.scenarios_shared import (
    scenario_log_killed,
    scenario_shared_store,
    scenario_store_killed,
    scenario_undo_race,
)
from recsys_tui.faults.scenarios_training import scenario_training_files
from recsys_tui.faults.servers import REDIS_BINARY
from recsys_tui.faults.workload import copy_home


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


SCENARIOS = ("redis-killed", "redis-unreachable", "slow-redis", "evicting-redis", "shared-store",
             "undo-race", "store-killed", "log-killed", "process-killed", "publish-killed", "corrupt", "disk",
             "concurrency", "bad-inputs", "cli-args", "hostile-text", "training-files")
BACKEND_SCENARIOS = ("shared-store", "undo-race", "store-killed", "log-killed", "process-killed",
                     "concurrency")
"""The scenarios that run on PostgreSQL + Redis Cluster (``--backends postgres-cluster``); the
others exercise files, input and the single server's own misbehaviour."""
POSTGRES_ONLY = ("log-killed",)
"""Scenarios with no SQLite counterpart (a file has no server to kill; ``process-killed`` covers it)."""


def planned(kind: str, only: tuple[str, ...] = SCENARIOS) -> list[str]:
    """Which of ``only`` run on the backends ``kind``."""
    if kind == "sqlite-redis":
        return [n for n in only if n not in POSTGRES_ONLY]
    return [n for n in only if n in BACKEND_SCENARIOS]


def _plan(backends: Backends, template: Home, work: Path, quick: bool) -> dict[str, Callable[[], Outcome]]:
    counter = iter(range(1000))
    b = backends

    def fresh() -> Home:
        return copy_home(template, work / f"home-{next(counter)}")

    def scratch(name: str) -> Path:
        path = work / f"{name}-{next(counter)}"
        path.mkdir()
        return path

    return {
        "redis-killed": lambda: scenario_redis_killed(fresh(), fresh(), scratch("redis"),
                                                      n=300 if quick else 1500),
        "redis-unreachable": lambda: scenario_redis_unreachable(fresh(), scratch("dead")),
        "slow-redis": lambda: scenario_slow_redis(fresh(), scratch("slow")),
        "evicting-redis": lambda: scenario_evicting_redis(fresh(), scratch("evict")),
        "shared-store": lambda: scenario_shared_store(b, template, scratch("shared")),
        "undo-race": lambda: scenario_undo_race(b, fresh(), scratch("undo"), rounds=8 if quick else 30),
        "store-killed": lambda: scenario_store_killed(b, fresh(), scratch("store"), n=150 if quick else 600),
        "log-killed": lambda: scenario_log_killed(b, fresh(), scratch("log"), n=150 if quick else 600),
        "process-killed": lambda: scenario_process_killed(fresh(), scratch("burst"), kills=1 if quick else 3,
                                                          backends=b),
        "publish-killed": lambda: scenario_publish_killed(fresh(), rounds=2 if quick else 6),
        "corrupt": lambda: scenario_corrupt(template, scratch("corrupt"), quick),
        "disk": lambda: scenario_disk(template, scratch("disk")),
        "concurrency": lambda: scenario_concurrency(fresh(), scratch("load"), 4, 500 if quick else 5000,
                                                    backends=b),
        "bad-inputs": lambda: scenario_bad_inputs(fresh(), n=200 if quick else 1000),
        "cli-args": lambda: scenario_cli_bad_args(fresh(), quick),
        "hostile-text": lambda: scenario_hostile_text(template, scratch("hostile"), quick),
        "training-files": lambda: scenario_training_files(template, scratch("files"), quick),
    }


def run_suite(user_home: Home, quick: bool = False, say: Callable[[str], None] = lambda _t: None,
              only: tuple[str, ...] = SCENARIOS,
              backends: tuple[str, ...] = ("sqlite-redis",)) -> list[Outcome]:
    """Run the scenarios in a temp folder, on each kind of log and store in ``backends``; each
    scenario's escape counts as one failed fault."""
    if REDIS_BINARY is None:
        raise CheckError("`recsys-tui check` needs the redis-server binary on PATH "
                         "(e.g. apt install redis-server)")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="recsys-check-") as tmp:
        work = Path(tmp)
        template = prepare(user_home, work, say)
        for kind in backends:
            names = planned(kind, only)
            if not names:
                continue
            chosen = make(kind)
            try:
                chosen.require()
                (work / kind).mkdir()
                plan = _plan(chosen, template, work / kind, quick)
                for name in names:
                    say(f"running {name}" + ("" if kind == "sqlite-redis" else f" on {kind}"))
                    try:
                        outcome = plan[name]()
                    except Exception as exc:  # a scenario that blows up is a failed fault, not a crash
                        outcome = Outcome(name)
                        outcome.fault("scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
                    if kind != "sqlite-redis":
                        outcome.name += f" [{kind}]"
                    outcomes.append(outcome)
            finally:
                chosen.close()
    return outcomes

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
from recsys_tui.faults.outcome import CheckError, Outcome
from recsys_tui.faults.scenarios_files import (
    scenario_corrupt,
    scenario_disk,
)
from recsys_tui.faults.scenarios_hostile import scenario_hostile_text, scenario_training_files
from recsys_tui.faults.scenarios_load import scenario_bad_inputs, scenario_cli_bad_args, scenario_concurrency
from recsys_tui.faults.scenarios_process import scenario_process_killed, scenario_publish_killed
from recsys_tui.faults.scenarios_redis import scenario_redis_killed, scenario_redis_unreachable
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


SCENARIOS = ("redis-killed", "redis-unreachable", "process-killed", "publish-killed", "corrupt",
             "disk", "concurrency", "bad-inputs", "cli-args", "hostile-text", "training-files")


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
            "hostile-text": lambda: scenario_hostile_text(template, scratch("hostile"), quick),
            "training-files": lambda: scenario_training_files(template, scratch("files"), quick),
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

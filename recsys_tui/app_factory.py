"""Build the Textual app with its services wired in (shared by the CLI, the demo and the tests).

The ``tui`` room may not import ``training`` or ``recsys_tui``, so first-run setup, retraining and
the learning replay reach it as callables (``tui.services.Services``) made here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.home import Home
from recsys_tui.tui.app import DEBUG_ENV, RecsysApp
from recsys_tui.tui.services import PointReport, Services, SetupReport, StepReport

if TYPE_CHECKING:  # the engine (numpy, scipy, FAISS, Redis) is imported by the worker that opens it
    from recsys_tui.core.engine import Engine

REPLAY_LIMIT = 3000
"""Events the in-app learning view replays (the full replay is ``recsys-tui replay``)."""
REPLAY_WINDOW = 500
REPLAY_STRATEGIES = ("frozen", "popularity", "foldin", "blend")
PREFERENCES_FILE = "preferences.json"


def _home(home: Home | str | Path | None) -> Home:
    return home if isinstance(home, Home) else Home.resolve(home)


def make_services(home: Home, redis_url: str | None = None, index: str | None = None,
                  log_url: str | None = None, *, preferences: bool = False) -> Services:
    """Callables for setup, opening the engine, retraining and the replay, bound to ``home``;
    ``preferences`` reads and saves the home's preferences file (the interactive app only)."""

    def needs_setup() -> bool:
        from recsys_tui.bootstrap import needs_setup as check

        return check(home)

    def setup(report: SetupReport) -> None:
        from recsys_tui.bootstrap import ensure_ready

        def progress(done: int, total: int | None) -> None:
            report("", done / total if total else None)

        ensure_ready(home, lambda text: report(text, None), progress, log_url)

    def open_engine() -> Engine:
        from recsys_tui.core.engine import Engine

        # the store's catch-up waits until the login table is up (the app calls ``finish_open``)
        return Engine.open(home, redis_url, index, log_url=log_url, defer_store=True)

    def retrain(step: StepReport, model: str | None, save: bool) -> str:
        from recsys_tui.training.pipeline import train
        from recsys_tui.training.replay import home_model

        current, params = home_model(home)
        name = model or current
        kind = index or "flat"
        return train(home, name, params if name == current else None, index=kind, step=step,
                     make_current=save or name == current, log_url=log_url).version

    def save_default(version: str) -> None:
        from recsys_tui.core import artifacts

        artifacts.set_current(home.artifacts, version)

    def default_version() -> str | None:
        from recsys_tui.core import artifacts

        return artifacts.current_version(home.artifacts)

    def replay(on_point: PointReport):
        from recsys_tui.training.replay import run_replay

        return run_replay(home, list(REPLAY_STRATEGIES), limit=REPLAY_LIMIT, window=REPLAY_WINDOW,
                          on_point=on_point)

    def model_names() -> tuple[str, ...]:
        from recsys_tui.models.registry import MODEL_NAMES

        return tuple(MODEL_NAMES)

    def index_kinds() -> tuple[str, ...]:
        from recsys_tui.core.index import INDEX_KINDS

        return tuple(INDEX_KINDS)

    return Services(open_engine=open_engine, needs_setup=needs_setup, setup=setup, retrain=retrain,
                    replay=replay, replay_events=REPLAY_LIMIT, models=model_names, indexes=index_kinds,
                    save_default=save_default, default_version=default_version,
                    preferences=home.root / PREFERENCES_FILE if preferences else None)


def make_app(home: Home | str | Path | None, redis_url: str | None = None, index: str | None = None, *,
             engine: Engine | None = None, preferences: bool = False,
             log_url: str | None = None) -> RecsysApp:
    """The app for ``home``; ``engine`` (already open) skips the start-up screen; ``preferences``
    reads and saves the home's preferences file (theme, last user, layout)."""
    home = _home(home)
    return RecsysApp(make_services(home, redis_url, index, log_url, preferences=preferences),
                     engine=engine)


QUIT_JOIN_S = 0.05
"""How long quitting gives cancelled background work to stop before the process leaves anyway.

Short on purpose: the work checks its stop flag before each stage (so it never starts publishing
after the quit), and a publish already under way is atomic, so nothing needs waiting for."""


def run_app(home: Home | str | Path | None, redis_url: str | None, log_url: str | None = None) -> None:
    """Run the app in the terminal (``recsys-tui`` with no command)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    home = _home(home)
    home.ensure()
    app = make_app(home, redis_url, preferences=True, log_url=log_url)
    try:
        app.run()
    finally:
        app.stop.set()  # whatever still runs in the background stops before its next step
        app.stop.join(QUIT_JOIN_S)
        if app.engine is not None:
            app.engine.close()
    if app.cancelled_on_quit:
        print(f"recsys-tui: quit; cancelled the running {', '.join(app.cancelled_on_quit)} "
              "(nothing was published)", file=sys.stderr)
    if app.crash:
        raise AppCrashed(f"the app stopped on an unexpected error: {app.crash} "
                         f"(set {DEBUG_ENV}=1 for the traceback)")
    failure = startup_failure(app)
    if failure:
        raise AppStartError(failure)


class AppStartError(RecsysError):
    """The app could not open the engine (the setup screen showed why); the CLI exits 1."""


class AppCrashed(RecsysError):
    """The app ended on an unexpected error; the CLI prints one line and exits 1."""


def startup_failure(app: RecsysApp) -> str | None:
    """Why the app never got an engine (its last worker error), or None if it did or was just quit."""
    return app.errors[-1] if app.engine is None and app.errors else None


__all__ = ["AppCrashed", "AppStartError", "make_app", "make_services", "run_app", "startup_failure"]

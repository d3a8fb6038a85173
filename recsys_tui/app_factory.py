"""Build the Textual app with its services wired in (shared by the CLI, the demo and the tests).

The ``tui`` room may not import ``training`` or ``recsys_tui``, so first-run setup, retraining and
the learning replay reach it as callables (``tui.services.Services``) made here.
"""

from __future__ import annotations

import os
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.services import PointReport, Services, SetupReport, StepReport

REPLAY_LIMIT = 3000
"""Events the in-app learning view replays (the full replay is ``recsys-tui replay``)."""
REPLAY_WINDOW = 500
REPLAY_STRATEGIES = ("frozen", "popularity", "foldin", "blend")


def _home(home: Home | str | Path | None) -> Home:
    return home if isinstance(home, Home) else Home.resolve(home)


def make_services(home: Home, redis_url: str | None = None, index: str | None = None,
                  log_url: str | None = None) -> Services:
    """Callables for setup, opening the engine, retraining and the replay, bound to ``home``."""

    def needs_setup() -> bool:
        from recsys_tui.bootstrap import needs_setup as check

        return check(home)

    def setup(report: SetupReport) -> None:
        from recsys_tui.bootstrap import ensure_ready

        def progress(done: int, total: int | None) -> None:
            report("", done / total if total else None)

        ensure_ready(home, lambda text: report(text, None), progress, log_url)

    def open_engine() -> Engine:
        return Engine.open(home, redis_url, index, log_url=log_url)

    def retrain(step: StepReport, model: str | None) -> str:
        from recsys_tui.training.pipeline import train
        from recsys_tui.training.replay import home_model

        current, params = home_model(home)
        name = model or current
        kind = index or "flat"
        return train(home, name, params if name == current else None, index=kind, step=step,
                     log_url=log_url).version

    def replay(on_point: PointReport):
        from recsys_tui.training.replay import run_replay

        return run_replay(home, list(REPLAY_STRATEGIES), limit=REPLAY_LIMIT, window=REPLAY_WINDOW,
                          on_point=on_point)

    from recsys_tui.core.index import INDEX_KINDS
    from recsys_tui.models.registry import MODEL_NAMES

    return Services(open_engine=open_engine, needs_setup=needs_setup, setup=setup, retrain=retrain,
                    replay=replay, models=MODEL_NAMES, indexes=INDEX_KINDS)


def make_app(home: Home | str | Path | None, redis_url: str | None = None, index: str | None = None, *,
             engine: Engine | None = None, log_url: str | None = None) -> RecsysApp:
    """The app for ``home``; ``engine`` (already open) skips the start-up screen."""
    home = _home(home)
    return RecsysApp(make_services(home, redis_url, index, log_url), engine=engine)


def run_app(home: Home | str | Path | None, redis_url: str | None, log_url: str | None = None) -> None:
    """Run the app in the terminal (``recsys-tui`` with no command)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    home = _home(home)
    home.ensure()
    app = make_app(home, redis_url, log_url=log_url)
    try:
        app.run()
    finally:
        if app.engine is not None:
            app.engine.close()
    failure = startup_failure(app)
    if failure:
        raise AppStartError(failure)


class AppStartError(RecsysError):
    """The app could not open the engine (the setup screen showed why); the CLI exits 1."""


def startup_failure(app: RecsysApp) -> str | None:
    """Why the app never got an engine (its last worker error), or None if it did or was just quit."""
    return app.errors[-1] if app.engine is None and app.errors else None


__all__ = ["AppStartError", "make_app", "make_services", "run_app", "startup_failure"]

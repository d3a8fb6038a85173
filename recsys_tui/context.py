"""What every command shares: the global options, the consoles, the data set and the engine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.console import Console

from recsys_tui.console import SafeConsole, note
from recsys_tui.core.home import REDIS_ENV, Home

if TYPE_CHECKING:
    from recsys_tui.core.engine import Engine
    from recsys_tui.data.movielens import Dataset


@dataclass
class Context:
    """Global options, resolved once by the top-level callback."""

    home_arg: str | None = None
    redis_url: str | None = None
    dataset: str | None = None
    log_url: str | None = None
    console: Console = field(default_factory=lambda: SafeConsole())
    err: Console = field(default_factory=lambda: SafeConsole(stderr=True))

    @property
    def home(self) -> Home:
        return Home.resolve(self.home_arg, self.dataset)

    def effective_redis_url(self, override: str | None = None) -> str | None:
        return override or self.redis_url or os.environ.get(REDIS_ENV) or None

    def effective_log_url(self) -> str | None:
        """``--log-url``, else ``$RECSYS_TUI_LOG_URL``, else None (the home's SQLite file)."""
        from recsys_tui.core.log_open import log_url

        return log_url(self.log_url)


STATE = Context()


def ensure_home() -> Home:
    """The home, set up first if needed: the first use fetches the data set and trains the default
    model (with progress on stderr)."""
    from recsys_tui.bootstrap import ensure_ready, needs_setup

    home = STATE.home
    if needs_setup(home):
        from recsys_tui.progress import download_bar

        with download_bar(STATE.err, home.dataset) as progress:
            ensure_ready(home, lambda text: STATE.err.print(note(text)), progress,
                         log_url=STATE.effective_log_url())
    return home


def open_engine() -> Engine:
    """The engine on the home's current model (``ensure_home`` first)."""
    from recsys_tui.core.engine import Engine

    home = ensure_home()
    return Engine.open(home, STATE.effective_redis_url(), log_url=STATE.effective_log_url())


@contextlib.contextmanager
def engine_session() -> Iterator[Engine]:
    """``open_engine()`` for the length of a ``with`` block, closed however the block ends."""
    engine = open_engine()
    try:
        yield engine
    finally:
        engine.close()


def ensure_dataset(home: Home) -> Dataset:
    """The home's data set, fetched and verified first if it is not cached yet (with progress)."""
    from recsys_tui.data.fetch import fetch
    from recsys_tui.progress import download_bar

    with download_bar(STATE.err, home.dataset) as progress:
        dataset, _ = fetch(home.data, "auto", progress, name=home.dataset)
    return dataset

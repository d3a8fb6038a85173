"""What every command shares: the home, the Redis URL, the console, opening the engine."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rich.console import Console

from recsys_tui.console import SafeConsole
from recsys_tui.core.home import REDIS_ENV, Home


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

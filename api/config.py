"""What one API process needs to know, passed from ``recsys-tui serve`` to its workers by environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

HOME_VAR = "RECSYS_TUI_HOME"
REDIS_VAR = "RECSYS_TUI_REDIS_URL"
TOKEN_VAR = "RECSYS_TUI_API_TOKEN"
INDEX_VAR = "RECSYS_TUI_API_INDEX"
NO_CACHE_VAR = "RECSYS_TUI_API_NO_CACHE"


@dataclass(frozen=True)
class ApiConfig:
    """The home, the store URL, the bearer token (None: open), the index kind of one API process,
    and whether it caches unchanged users' lists (``api/cache.py``)."""

    home: str | None = None
    redis_url: str | None = None
    token: str | None = None
    index: str | None = None
    cache: bool = True

    def __repr__(self) -> str:  # the token is never shown, not even in a traceback or a log line
        return (f"ApiConfig(home={self.home!r}, redis_url={'set' if self.redis_url else None}, "
                f"token={'set' if self.token else None}, index={self.index!r}, cache={self.cache})")

    @staticmethod
    def from_env() -> ApiConfig:
        return ApiConfig(os.environ.get(HOME_VAR) or None, os.environ.get(REDIS_VAR) or None,
                         os.environ.get(TOKEN_VAR) or None, os.environ.get(INDEX_VAR) or None,
                         os.environ.get(NO_CACHE_VAR) != "1")

    def to_env(self) -> dict[str, str]:
        """The variables a worker process reads back with ``from_env``."""
        pairs = {HOME_VAR: self.home, REDIS_VAR: self.redis_url, TOKEN_VAR: self.token,
                 INDEX_VAR: self.index, NO_CACHE_VAR: None if self.cache else "1"}
        return {k: v for k, v in pairs.items() if v}

"""Pick the event-log backend: the home's SQLite file by default, PostgreSQL for a URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from recsys_tui.core.event_log import EventLog, EventLogError

if TYPE_CHECKING:
    from recsys_tui.core.pg_event_log import PostgresEventLog

LOG_ENV = "RECSYS_TUI_LOG_URL"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def log_url(explicit: str | None = None) -> str | None:
    """``--log-url``, else ``$RECSYS_TUI_LOG_URL``, else None (the home's SQLite file)."""
    return explicit or os.environ.get(LOG_ENV) or None


def open_event_log(path: Path, url: str | None = None) -> EventLog | PostgresEventLog:
    """The SQLite log at ``path`` when ``url`` is empty, else the PostgreSQL log at ``url``."""
    if not url:
        return EventLog(path)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in POSTGRES_SCHEMES:
        from recsys_tui.core.pg_event_log import redact_dsn

        raise EventLogError(f"unsupported event-log URL {redact_dsn(url)!r}: use "
                            "postgresql://user@host:port/db (or leave it unset for the home's SQLite file)")
    from recsys_tui.core.pg_event_log import PostgresEventLog

    return PostgresEventLog(url)

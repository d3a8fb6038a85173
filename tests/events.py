"""Test helper: how many events a home's event log holds (0 when there is no log yet)."""

from __future__ import annotations

from recsys_tui.core.event_log import EventLog


def logged(home) -> int:
    if not home.event_log.exists():
        return 0
    log = EventLog(home.event_log)
    try:
        return log.count()
    finally:
        log.close()

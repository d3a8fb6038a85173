"""Notice events that other processes logged, so a worker never answers from a stale user state.

Several API workers share one event log. Each engine caches its users' folded-in state, so an event
posted to worker A would not show in worker B's next ``/recommend`` for that user. Before answering,
a worker asks the log for its newest event id (one indexed SQLite read); when it moved, the users of
the new events that this worker did not record itself are dropped from the engine's cache and are
rebuilt from the log on their next request.

Two readers ask: ``sync`` on the engine's thread (it forgets users, so it runs beside the engine's
work), and ``fresh`` on the event loop (a cached answer may be sent from there only while the log
has not moved since the last ``sync``). ``fresh`` reads through a connection of its own to the
SQLite log, which no other thread uses: a WAL read never waits for a writer, so the loop never
blocks behind the engine. Other log backends (PostgreSQL: a network round trip) have no loop-side
reader, and every answer goes through the engine's thread.

This is the API's own minimum: the engine has no public "forget this user" yet (a core-level
freshness check is being built separately), so ``_forget`` reaches into the engine's cache under
the engine's lock. Only the per-user state is refreshed; the in-memory popularity used while the
store is down counts this worker's events only (the shared Redis holds everyone's counts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog, EventLogError

OWN_IDS_CAP = 100_000


class LogWatch:
    """Tracks the newest event id this worker has accounted for."""

    def __init__(self, engine: Engine, on_forget: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self._on_forget = on_forget
        self._lock = threading.Lock()
        self._seen = engine.log.max_id()
        self._own: set[int] = set()
        self._reader = EventLog(engine.log.path) if engine.log.kind == "sqlite" else None

    def recorded(self, event_id: int) -> None:
        """This worker committed ``event_id`` (its state is already current)."""
        with self._lock:
            if len(self._own) < OWN_IDS_CAP:
                self._own.add(event_id)

    def sync(self) -> int:
        """Drop cached users touched by other processes since the last call; return how many.

        Runs on the engine's thread only. The newest id is taken as seen only after those users are
        forgotten, so ``fresh`` never vouches for an answer that is about to be dropped."""
        newest = self.engine.log.max_id()
        with self._lock:
            if newest <= self._seen:
                return 0
            after = self._seen
            own, self._own = self._own, {i for i in self._own if i > newest}
        users = {e.user_id for e in self.engine.log.events(after_id=after, include_undone=True)
                 if e.id <= newest and e.id not in own}
        for user in users:
            self._forget(user)
        with self._lock:
            self._seen = newest
        return len(users)

    def fresh(self) -> bool:
        """True when the log holds nothing newer than the last ``sync`` (event loop only); False
        when there is no loop-side reader or it cannot read (the engine's path then answers)."""
        if self._reader is None:
            return False
        try:
            return self._reader.max_id() <= self._seen
        except EventLogError:
            return False

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def _forget(self, user_id: int) -> None:
        with self.engine._lock:
            self.engine._users.pop(user_id, None)
        if self._on_forget is not None:
            self._on_forget(user_id)

"""Notice events that other processes logged, so a worker never answers from a stale user state.

Several API workers share one event log. Each engine caches its users' folded-in state, so an event
posted to worker A would not show in worker B's next ``/recommend`` for that user. Before answering,
a worker asks the log for its newest event id (one indexed SQLite read); when it moved, the users of
the new events that this worker did not record itself are dropped from the engine's cache and are
rebuilt from the log on their next request.

This is the API's own minimum: the engine has no public "forget this user" yet (a core-level
freshness check is being built separately), so ``_forget`` reaches into the engine's cache under
the engine's lock. Only the per-user state is refreshed; the in-memory popularity used while the
store is down counts this worker's events only (the shared Redis holds everyone's counts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from recsys_tui.core.engine import Engine

OWN_IDS_CAP = 100_000


class LogWatch:
    """Tracks the newest event id this worker has accounted for."""

    def __init__(self, engine: Engine, on_forget: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self._on_forget = on_forget
        self._lock = threading.Lock()
        self._seen = engine.log.max_id()
        self._own: set[int] = set()

    def recorded(self, event_id: int) -> None:
        """This worker committed ``event_id`` (its state is already current)."""
        with self._lock:
            if len(self._own) < OWN_IDS_CAP:
                self._own.add(event_id)

    def sync(self) -> int:
        """Drop cached users touched by other processes since the last call; return how many."""
        newest = self.engine.log.max_id()
        with self._lock:
            if newest <= self._seen:
                return 0
            after, self._seen = self._seen, newest
            own, self._own = self._own, {i for i in self._own if i > newest}
        users = {e.user_id for e in self.engine.log.events(after_id=after, include_undone=True)
                 if e.id <= newest and e.id not in own}
        for user in users:
            self._forget(user)
        return len(users)

    def _forget(self, user_id: int) -> None:
        with self.engine._lock:
            self.engine._users.pop(user_id, None)
        if self._on_forget is not None:
            self._on_forget(user_id)

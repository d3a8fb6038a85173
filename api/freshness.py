"""Notice events that other processes logged, so a worker never answers from a stale cache.

Several API workers share one event log. Each worker caches the answers it gave (``api/cache.py``),
so an event posted to worker A would not show in worker B's next ``/recommend`` for that user if B
answered from its cache. Before answering, a worker asks the log for its newest event id (one
indexed SQLite read); when it moved, the cached answers of the users of the new events that this
worker did not record itself are dropped. The engine's own view of those users is left to the
engine, which brings it forward on its next call (``core/freshness.py``: from the shared store's
recent list and embedding, or from that user's log rows), so no user is rebuilt from scratch.

Two readers ask: ``sync`` on the engine's thread (before every call that goes to the engine), and
``fresh`` on the event loop (a cached answer may be sent from there only while the log holds
nothing newer than the last sync). When the log moved by a few events, ``fresh`` does the sync
itself, on the loop, unless the engine's thread is syncing right then: so an event on another
worker sends only its own user's next request to the engine, not whatever request came next.
The loop reads through a connection of its own to the SQLite log, which no other thread uses: a
WAL read never waits for a writer, so the loop never blocks behind the engine. Other log
backends (PostgreSQL: a network round trip) have no loop-side reader, and every answer goes
through the engine's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog, EventLogError

OWN_IDS_CAP = 100_000
LOOP_SYNC_MAX = 256  # more new events than this are read on the engine's thread, not the loop


class LogWatch:
    """Tracks the newest event id this worker has accounted for."""

    def __init__(self, engine: Engine, on_changed: Callable[[int], None]) -> None:
        self.engine = engine
        self._on_changed = on_changed
        self._lock = threading.Lock()
        self._syncing = threading.Lock()  # one sync at a time, on either thread
        self._seen = engine.log.max_id()
        self._own: set[int] = set()
        self._reader = EventLog(engine.log.path) if engine.log.kind == "sqlite" else None

    def recorded(self, event_id: int) -> None:
        """This worker committed ``event_id`` (its state is already current)."""
        with self._lock:
            if len(self._own) < OWN_IDS_CAP:
                self._own.add(event_id)

    def sync(self) -> int:
        """Report the users other processes logged events for since the last sync (``on_changed``);
        return how many. On the engine's thread, through the engine's log."""
        with self._syncing:
            return self._sync(self.engine.log, self.engine.log.max_id())

    def _sync(self, log: EventLog, newest: int) -> int:
        """The newest id is taken as seen only after those users' answers are dropped, so ``fresh``
        never vouches for an answer that is about to go (the caller holds ``_syncing``)."""
        with self._lock:
            if newest <= self._seen:
                return 0
            after = self._seen
            own, self._own = self._own, {i for i in self._own if i > newest}
        users = {e.user_id for e in log.events(after_id=after, include_undone=True)
                 if e.id <= newest and e.id not in own}
        for user in users:
            self._on_changed(user)
        with self._lock:
            self._seen = newest
        return len(users)

    def fresh(self) -> bool:
        """Event loop only: True when every logged event is accounted for — already, or after a
        sync done here (at most ``LOOP_SYNC_MAX`` new events, and only if the engine's thread is
        not syncing). False when there is no loop-side reader, it cannot read, or the sync is left
        to the engine's thread (which then answers)."""
        if self._reader is None:
            return False
        try:
            newest = self._reader.max_id()
            if newest <= self._seen:
                return True
            if newest - self._seen > LOOP_SYNC_MAX or not self._syncing.acquire(blocking=False):
                return False
            try:
                self._sync(self._reader, newest)
            finally:
                self._syncing.release()
        except EventLogError:
            return False
        return True

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

"""A PostgreSQL append sent without waiting, so the engine folds the event in while the server commits.

A durable commit waits for the WAL flush (``synchronous_commit`` stays on); that wait is most of
an append's time. ``PostgresEventLog.append_begin`` sends the same one statement
(``recsys_append``, its own transaction) through the connection's libpq handle
(``psycopg.Connection.pgconn``, psycopg's documented way to low-level calls) and returns a
``PendingAppend``; the engine folds the event into a *copy* of the user's view meanwhile and
calls ``result()``, which waits for the reply. Only a successful commit returns an event (the
engine then installs the copy); any failure raises ``EventLogError`` and the copy is dropped, so a
refused or failed commit leaves no trace in the process. The log's lock is held from the send to
the reply (one statement in flight per connection, as before).
"""

from __future__ import annotations

import select
import threading
from typing import TYPE_CHECKING

from recsys_tui.core.event_log import Event, EventLogError

if TYPE_CHECKING:
    from recsys_tui.core.pg_event_log import PostgresEventLog

APPEND_SQL = (b"SELECT new_id, prev_id FROM recsys_append($1::integer, $2::integer, $3::text, "
              b"$4::double precision, $5::bigint, $6::bigint)")
WAIT_S = 1.0
"""One ``select`` of the wait for the reply; the wait itself ends with the reply or the connection
(as a synchronous ``execute`` does)."""


def _text(value: object) -> bytes | None:
    return None if value is None else str(value).encode()


class PendingAppend:
    """One append in flight on ``log``'s connection; ``result()`` once, always (it releases the lock)."""

    done = False

    def __init__(self, log: PostgresEventLog, lock: threading.Lock, user_id: int, item_id: int,
                 kind: str, rating: float | None, ts: int) -> None:
        self._log, self._lock = log, lock
        self.fields = (user_id, item_id, kind, rating, ts)
        self._pgconn = None
        self._open = False

    def send(self, pgconn) -> None:
        """Send the statement (called with the lock held; on failure the lock is released)."""
        user_id, item_id, kind, rating, ts = self.fields
        self._pgconn, self._open = pgconn, True
        try:
            pgconn.send_query_params(APPEND_SQL, [_text(user_id), _text(item_id), kind.encode(),
                                                  None if rating is None else repr(float(rating)).encode(),
                                                  _text(ts), None])
            while pgconn.flush():  # non-blocking connection: wait until the socket takes the rest
                select.select([], [pgconn.socket], [], WAIT_S)
        except BaseException:
            self._close(failed=True)
            raise

    def result(self) -> Event:
        """Wait for the commit's reply: the event, or ``EventLogError`` (nothing acknowledged)."""
        if not self._open:
            raise EventLogError(f"event log {self._log.url}: append already read")
        import psycopg

        pgconn, failed = self._pgconn, True
        try:
            while True:
                pgconn.consume_input()
                if not pgconn.is_busy():
                    break
                select.select([pgconn.socket], [], [], WAIT_S)
            results = []
            while (res := pgconn.get_result()) is not None:
                results.append(res)
            failed = False
        except psycopg.Error as exc:
            raise EventLogError(f"event log {self._log.url}: {self._log._say(exc)}") from None
        finally:
            self._close(failed)
        bad = [r for r in results if r.status != psycopg.pq.ExecStatus.TUPLES_OK]
        if bad or len(results) != 1 or results[0].ntuples != 1:
            exc = psycopg.errors.error_from_result(bad[0]) if bad else psycopg.Error("no reply")
            raise EventLogError(f"event log {self._log.url}: {self._log._say(exc)}")
        row = results[0]
        new_id, prev_id = int(row.get_value(0, 0)), int(row.get_value(0, 1))  # type: ignore[arg-type]
        user_id, item_id, kind, rating, ts = self.fields
        return Event(new_id, user_id, item_id, kind, rating, ts, None, prev_id)

    def _close(self, failed: bool) -> None:
        """Release the lock; a connection left mid-statement (an interrupt, an I/O error) is
        finished so that the next call opens a new one (``PostgresEventLog._conn``)."""
        if not self._open:
            return
        self._open = False
        try:
            if failed and self._pgconn is not None:
                self._pgconn.finish()
        finally:
            self._lock.release()

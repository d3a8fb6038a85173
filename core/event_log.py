"""The durable event log (SQLite, WAL): the source of truth for features and retraining.

Every event is committed here before anything else happens to it. Ids are the SQLite rowids:
strictly increasing, never reused (AUTOINCREMENT), so they order events and guard the feature
store against double counting. An ``undo`` event cancels an earlier one without deleting it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.log_schema import SCHEMA_VERSION, SQLITE_STEPS, VERSION_TABLE, too_new

EVENT_KINDS = ("rating", "click", "view")
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY = 256
"""Commits of this connection after which its checkpointer thread copies the WAL into the database
(about 3 pages a commit: near SQLite's own 1,000-page default)."""
WRITER_CHECKPOINT_PAGES = 16_384
"""WAL pages (64 MiB) at which a commit checkpoints by itself after all, as SQLite does by default at
1,000: only reached if the checkpointer thread cannot keep up or cannot run."""


class EventLogError(RecsysError):
    """The event log cannot be opened, read or written."""


@dataclass(frozen=True)
class Event:
    """One logged interaction. ``rating`` is set for ratings only."""

    id: int
    user_id: int
    item_id: int
    kind: str
    rating: float | None
    ts: int
    undoes: int | None = None
    prev_id: int | None = field(default=None, compare=False)
    """The id of the user's previous event in the log (0 = none), when the log said so at append
    time; the feature store uses it to notice events it has not applied yet."""


def _make_private(path: Path) -> None:
    """The log and its WAL/shared-memory files readable by their owner only (0600)."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                os.chmod(file, 0o600)


def _fail(path: Path, exc: sqlite3.Error) -> EventLogError:
    return EventLogError(f"event log {path}: {exc}")


COLUMNS = "id, user_id, item_id, kind, rating, ts, undoes"


def event_from_row(row: tuple) -> Event:
    """An ``Event`` from a ``COLUMNS`` row of either backend."""
    return Event(int(row[0]), int(row[1]), int(row[2]), row[3], row[4], int(row[5]),
                 None if row[6] is None else int(row[6]))


class LogReads:
    """The reads both backends share: the same tables (``log_schema``), the same SQL; only the
    driver's parameter mark differs (``?`` for sqlite3, ``%s`` for psycopg). A backend sets
    ``MARK`` and provides ``_query(sql, args)``."""

    MARK = "?"

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self._query(sql if self.MARK == "?" else sql.replace("?", self.MARK), args)

    def registered_users(self) -> list[int]:
        return [int(r[0]) for r in self._read("SELECT user_id FROM users ORDER BY user_id")]

    def is_registered(self, user_id: int) -> bool:
        return bool(self._read("SELECT 1 FROM users WHERE user_id = ?", (user_id,)))

    def max_user_id(self) -> int:
        """The largest user id any event or registration names (0 for an empty log)."""
        return int(self._read("SELECT COALESCE(MAX(m), 0) FROM (SELECT MAX(user_id) AS m FROM events "
                              "UNION ALL SELECT MAX(user_id) FROM users) AS ids")[0][0])

    def max_id(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    def last_event_id(self, user_id: int) -> int:
        """The id of the user's newest event of any kind (0 when none)."""
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id = ?", (user_id,))[0][0])

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM events")[0][0])

    def events(self, user_id: int | None = None, after_id: int = 0,
               include_undone: bool = False) -> list[Event]:
        """Events in id order; by default without undo markers and the events they cancel."""
        where, args = ["e.id > ?"], [after_id]
        if user_id is not None:
            where.append("e.user_id = ?")
            args.append(user_id)
        if not include_undone:
            where.append("e.kind <> 'undo'")
            where.append("NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id)")
        rows = self._read(
            "SELECT e.id, e.user_id, e.item_id, e.kind, e.rating, e.ts, e.undoes FROM events e "
            f"WHERE {' AND '.join(where)} ORDER BY e.id", tuple(args))
        return [event_from_row(row) for row in rows]

    def iter_all(self) -> Iterator[Event]:
        """Every event including undo markers, in id order (for rebuilding the feature store)."""
        yield from self.events(include_undone=True)

    def backlog(self, user_id: int, after_id: int, upto_id: int) -> tuple[list[Event], dict[int, Event]]:
        """The user's events (undo markers included) with ``after_id < id <= upto_id``, in id order,
        and the events those markers cancel (by id), for applying them to the feature store."""
        rows = self._read(f"SELECT {COLUMNS} FROM events WHERE user_id = ? AND id > ? AND id <= ? "
                          "ORDER BY id", (user_id, after_id, upto_id))
        events = [event_from_row(row) for row in rows]
        wanted = sorted({e.undoes for e in events if e.undoes})
        undone: dict[int, Event] = {}
        if wanted:
            marks = ",".join("?" * len(wanted))
            rows = self._read(f"SELECT {COLUMNS} FROM events WHERE id IN ({marks})", tuple(wanted))
            undone = {int(row[0]): event_from_row(row) for row in rows}
        return events, undone

    def previous_id(self, user_id: int, event_id: int) -> int:
        """The id of the user's event logged just before ``event_id`` (0 = none)."""
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id = ? AND id < ?",
                              (user_id, event_id))[0][0])

    def last_per_user(self) -> dict[int, int]:
        """user → id of the user's newest event (any kind)."""
        return {int(u): int(i) for u, i in self._read("SELECT user_id, MAX(id) FROM events GROUP BY user_id")}


class Checkpointer:
    """Copies the log's WAL into the database on its own thread and connection.

    SQLite checkpoints in the committing call once the WAL passes 1,000 pages: at one event per
    commit that was every ~325 events, each time 2–6 ms on a quiet machine and 10–20 ms with other
    I/O (an fsync of the WAL and of the database) in the middle of someone's rating (docs/SCALE.md,
    "The event tail at 25M"). Here the committing connection leaves that to this thread: every
    ``CHECKPOINT_EVERY`` commits it is woken and runs a PASSIVE checkpoint, which copies what no
    reader still needs without blocking the writer or readers (the fsyncs happen here, without the
    GIL). The writer keeps its own automatic checkpoint at ``WRITER_CHECKPOINT_PAGES`` as a bound
    in case this thread falls behind. Started on the first wake-up; ``close`` stops it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.runs = 0
        """Checkpoints done (each one PASSIVE)."""
        self.error: str | None = None
        """The last checkpoint's failure (the writer's own bound still holds the WAL)."""
        self._due = 0
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        """One commit more; every ``CHECKPOINT_EVERY`` the thread is woken (called under the log's lock)."""
        self._due += 1
        if self._due >= CHECKPOINT_EVERY:
            self._due = 0
            self.request()

    def request(self) -> None:
        """Run a checkpoint soon (starts the thread the first time)."""
        if self._stopping:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {self.path.name}",
                                            daemon=True)
            self._thread.start()
        self._wake.set()

    def wait(self, runs: int, timeout: float) -> bool:
        """Block until ``runs`` checkpoints have been done (or ``timeout`` seconds have passed)."""
        with self._done:
            return self._done.wait_for(lambda: self.runs >= runs, timeout)

    def _run(self) -> None:
        db = None
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute("PRAGMA synchronous = NORMAL")  # the checkpoint syncs as the writer's would
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.error = None
                except sqlite3.Error as exc:
                    self.error = str(exc)
                with self._done:
                    self.runs += 1
                    self._done.notify_all()
        except sqlite3.Error as exc:
            self.error = str(exc)
        finally:
            if db is not None:
                db.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()


class EventLog(LogReads):
    """Append-only SQLite log, safe to share between threads and processes (the default backend).

    Its WAL is checkpointed by a ``Checkpointer`` thread, not inside a commit."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data_version = -1
        self._stamp = 0
        self.checkpointer = Checkpointer(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                       check_same_thread=False, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise EventLogError(f"event log {path}: cannot switch to WAL mode ({mode})")
            # WAL + NORMAL: a commit survives the process being killed; fsync at checkpoints.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA wal_autocheckpoint = 16384")  # WRITER_CHECKPOINT_PAGES (Checkpointer)
            found = self._migrate()
            if found > SCHEMA_VERSION:
                self._db.close()
                raise EventLogError(too_new(found, str(path)))
            _make_private(path)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('log_id', ?)", (uuid.uuid4().hex,))
            self._log_id = str(self._db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
                raise EventLogError(
                    f"event log {path} is unusable ({exc}); move it aside to start a new one"
                ) from None
            # Disk full, read-only or I/O trouble: the log itself is fine, never advise moving it.
            raise EventLogError(f"event log {path} cannot be opened ({exc}); check free disk space "
                                "and that the home is writable") from None
        except OSError as exc:
            raise EventLogError(f"event log {path} cannot be opened ({exc.strerror or exc}); "
                                "check free disk space and that the home is writable") from None

    def _migrate(self) -> int:
        """Run the schema steps this log lacks, each in its own transaction; return the version found."""
        self._db.execute(VERSION_TABLE)
        found = int(self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
        for version in range(found + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                done = self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
                if done < version:  # another process may have migrated meanwhile
                    for statement in SQLITE_STEPS[version - 1].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, int(time.time())))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return found

    @property
    def log_id(self) -> str:
        """A random id written at first use: binds a feature store to this log."""
        return self._log_id

    def close(self) -> None:
        self.checkpointer.stop()
        with self._lock:
            self._db.close()

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from None

    # -- writing -------------------------------------------------------------------------------

    def append(self, user_id: int, item_id: int, kind: str, rating: float | None = None,
               ts: int | None = None, undoes: int | None = None) -> Event:
        """Commit one event and return it with its id (values must already be validated)."""
        ts = int(time.time()) if ts is None else int(ts)
        try:
            with self._lock:
                cur = self._db.execute(
                    "INSERT INTO events (user_id, item_id, kind, rating, ts, undoes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, item_id, kind, rating, ts, undoes),
                )
                event_id = int(cur.lastrowid)
                prev = self._db.execute(
                    "SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id = ? AND id < ?",
                    (user_id, event_id)).fetchone()[0]
                self.checkpointer.committed()
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from None
        return Event(event_id, user_id, item_id, kind, rating, ts, undoes, int(prev))

    def undo_last(self, user_id: int, expected_id: int) -> tuple[Event, Event] | None:
        """Cancel the user's newest live event if it is still ``expected_id``: one transaction, so
        of two processes undoing the same event exactly one wins. Returns (marker, cancelled event),
        or None when that event is no longer the user's newest live one."""
        live = ("SELECT id, user_id, item_id, kind, rating, ts, undoes FROM events e WHERE user_id = ? "
                "AND kind != 'undo' AND NOT EXISTS (SELECT 1 FROM events u WHERE u.undoes = e.id) "
                "ORDER BY id DESC LIMIT 1")
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._db.execute(live, (user_id,)).fetchone()
                    if row is None or row[0] != expected_id:
                        self._db.execute("ROLLBACK")
                        return None
                    target = Event(*row)
                    prev = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM events WHERE user_id = ?",
                                            (user_id,)).fetchone()[0]
                    ts = int(time.time())
                    cur = self._db.execute(
                        "INSERT INTO events (user_id, item_id, kind, rating, ts, undoes) "
                        "VALUES (?, ?, 'undo', NULL, ?, ?)", (user_id, target.item_id, ts, target.id))
                    marker = Event(int(cur.lastrowid), user_id, target.item_id, "undo", None, ts,
                                   target.id, int(prev))
                    self._db.execute("COMMIT")
                    self.checkpointer.committed()
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from None
        return marker, target

    def stamp(self) -> int | None:
        """A counter that moves when another connection (another process, or another engine on the
        same file) has committed to the log since the previous call; this connection's own commits
        leave it alone. SQLite's ``PRAGMA data_version`` answers without reading a table, so a
        reader can skip its per-user freshness query while the counter stands still."""
        try:
            with self._lock:
                version = self._db.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from None
        if version != self._data_version:
            self._data_version = version
            self._stamp += 1
        return self._stamp

    def register_user(self, first_id: int) -> int:
        """Allocate a new user id ≥ ``first_id`` (atomic across processes)."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._db.execute("SELECT MAX(user_id) FROM users").fetchone()
                    user_id = max(first_id, (row[0] or 0) + 1)
                    self._db.execute("INSERT INTO users VALUES (?, ?)", (user_id, int(time.time())))
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise _fail(self.path, exc) from None
        return user_id

    # -- reading (shared with PostgreSQL: LogReads) -----------------------------------------

    def integrity(self) -> str:
        """SQLite's own integrity check ("ok" when healthy)."""
        return str(self._query("PRAGMA integrity_check")[0][0])

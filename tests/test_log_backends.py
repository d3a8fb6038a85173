"""The event-log contract, run against SQLite and a real PostgreSQL (initdb + pg_ctl)."""

from __future__ import annotations

import threading

import pytest
from recsys_tui.core.event_log import EventLog, EventLogError
from recsys_tui.core.log_open import open_event_log
from recsys_tui.core.log_schema import SCHEMA_VERSION
from recsys_tui.core.pg_event_log import redact_dsn


def test_ids_increase_and_events_round_trip(any_log):
    a = any_log.append(1, 10, "rating", 4.0, ts=100)
    b = any_log.append(2, 11, "click", None, ts=101)
    c = any_log.append(1, 12, "view", None, ts=102)
    assert a.id < b.id < c.id
    assert any_log.events(1) == [a, c]
    assert any_log.events() == [a, b, c]
    assert any_log.events(after_id=a.id) == [b, c]
    assert any_log.max_id() == c.id and any_log.count() == 3
    assert any_log.last_per_user() == {1: c.id, 2: b.id}
    assert any_log.last_event_id(1) == c.id and any_log.last_event_id(99) == 0


def test_undo_hides_the_event_and_wins_once(any_log):
    a = any_log.append(1, 10, "rating", 4.0)
    done = any_log.undo_last(1, a.id)
    assert done is not None
    marker, target = done
    assert target == a and marker.undoes == a.id and marker.item_id == 10 and marker.prev_id == a.id
    assert any_log.undo_last(1, a.id) is None  # already undone
    assert any_log.undo_last(2, a.id) is None  # not that user's event
    assert any_log.undo_last(1, marker.id) is None  # an undo marker is never undone
    assert any_log.events(1) == []
    assert [e.id for e in any_log.iter_all()] == [a.id, marker.id]
    events, undone = any_log.backlog(1, 0, marker.id)
    assert [e.id for e in events] == [a.id, marker.id] and undone == {a.id: a}


def test_undo_last_refuses_a_superseded_event(any_log):
    """``undo_last(user, expected)`` cancels only the user's newest live event."""
    a = any_log.append(3, 10, "rating", 4.0)
    b = any_log.append(3, 11, "click")
    assert any_log.undo_last(3, a.id) is None  # b came after: a is not the newest any more
    marker, target = any_log.undo_last(3, b.id)
    assert target == b and marker.prev_id == b.id
    assert any_log.undo_last(3, a.id) is not None  # now a is the newest live event
    assert any_log.events(3) == []


def test_prev_id_and_log_id(any_log, tmp_path, request):
    """Appends say the user's previous event; the log id is stable and names this log only."""
    a = any_log.append(4, 10, "click")
    other = any_log.append(9, 10, "click")
    b = any_log.append(4, 11, "view")
    assert a.prev_id == 0 and other.prev_id == 0 and b.prev_id == a.id
    assert any_log.previous_id(4, b.id) == a.id and any_log.previous_id(4, a.id) == 0
    url = None if any_log.kind == "sqlite" else request.getfixturevalue("pg_url")
    again = open_event_log(tmp_path / "events.sqlite3", url)  # the same log, reopened
    assert again.log_id == any_log.log_id
    again.close()
    fresh = EventLog(tmp_path / "other.sqlite3")
    assert len(any_log.log_id) == 32 and fresh.log_id != any_log.log_id
    fresh.close()


def test_two_concurrent_undos_have_one_winner(any_log, tmp_path, request):
    """Two handles (as two processes) race to undo the same event: exactly one marker lands."""
    target = any_log.append(5, 20, "rating", 3.0)
    url = None if any_log.kind == "sqlite" else request.getfixturevalue("pg_url")
    others = [open_event_log(tmp_path / "events.sqlite3", url) for _ in range(4)]
    results: list = []
    barrier = threading.Barrier(len(others))

    def race(log) -> None:
        barrier.wait()
        results.append(log.undo_last(5, target.id))

    threads = [threading.Thread(target=race, args=(log,)) for log in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for log in others:
        log.close()
    assert sum(r is not None for r in results) == 1
    assert [e.kind for e in any_log.iter_all()] == ["rating", "undo"]


def test_register_user_is_atomic(any_log):
    first = [any_log.register_user(1000) for _ in range(3)]
    assert first == [1000, 1001, 1002]
    assert any_log.registered_users() == first and any_log.is_registered(1001)
    assert any_log.integrity() == "ok"


def test_max_user_id_counts_events_and_registrations(any_log):
    """Both backends share one implementation of the reads (``LogReads``): new-user needs this one."""
    assert any_log.max_user_id() == 0
    any_log.append(40, 1, "click")
    assert any_log.max_user_id() == 40
    assert any_log.register_user(any_log.max_user_id() + 1) == 41  # what new-user asks for
    assert any_log.max_user_id() == 41
    any_log.append(900, 2, "view")
    assert any_log.max_user_id() == 900 and any_log.last_event_id(900) == any_log.max_id()


def test_bad_values_are_refused_and_nothing_is_written(any_log):
    with pytest.raises(EventLogError):
        any_log.append(1, 10, "rating", 9.0)
    with pytest.raises(EventLogError):
        any_log.append(0, 10, "click")
    assert any_log.count() == 0


def test_schema_is_versioned_by_migrations(any_log, tmp_path):
    rows = any_log._query("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_schema_is_refused(tmp_path):
    log = EventLog(tmp_path / "e.sqlite3")
    log._query("INSERT INTO schema_version VALUES (99, 0)")
    log.close()
    with pytest.raises(EventLogError, match="newer than this recsys-tui"):
        EventLog(tmp_path / "e.sqlite3")


def test_an_old_sqlite_log_is_migrated_in_place(tmp_path):
    """A log from before schema_version existed (version 1, meta table) gains version 2."""
    import sqlite3

    from recsys_tui.core.log_schema import SQLITE_STEPS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SQLITE_STEPS[0])
    db.execute("INSERT INTO events (user_id, item_id, kind, rating, ts) VALUES (1, 2, 'rating', 5, 0)")
    db.commit()
    db.close()
    log = EventLog(path)
    assert [e.item_id for e in log.events(1)] == [2]
    assert log._query("SELECT MAX(version) FROM schema_version")[0][0] == SCHEMA_VERSION
    log.close()


def test_passwords_never_show():
    url = "postgresql://app:s3cret@db.example:5432/recs?sslmode=require&password=s3cret"
    shown = redact_dsn(url)
    assert "s3cret" not in shown and "app:***@db.example:5432" in shown


def test_a_wrong_password_or_port_is_one_clear_error(pg_server):
    from recsys_tui.faults.servers import free_port

    url = f"postgresql://recsys:hunter2@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(EventLogError) as err:
        open_event_log(None, url)  # type: ignore[arg-type]
    assert "hunter2" not in str(err.value) and "cannot be opened" in str(err.value)
    with pytest.raises(EventLogError, match="unsupported event-log URL"):
        open_event_log(None, "mysql://u:hunter2@h/db")  # type: ignore[arg-type]


def test_concurrent_migrations_run_once(pg_url):
    """Four processes opening a new database at once: the schema is created exactly once."""
    logs: list = []
    errors: list = []

    def open_one() -> None:
        try:
            logs.append(open_event_log(None, pg_url))  # type: ignore[arg-type]
        except EventLogError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(logs) == 4
    assert logs[0]._query("SELECT COUNT(*) FROM schema_version")[0][0] == SCHEMA_VERSION
    for log in logs:
        log.close()


def test_per_user_ids_commit_in_order(pg_url):
    """A user's second append waits for the first one's commit, so ids commit in order per user
    (the store's per-user idempotency key relies on it); other users do not wait."""
    import psycopg

    log = open_event_log(None, pg_url)  # type: ignore[arg-type]
    slow = psycopg.connect(pg_url)  # an open transaction that drew an id for user 7
    first = slow.execute("SELECT new_id FROM recsys_append(7, 1, 'click', NULL, 0, NULL)").fetchone()[0]
    done: list = []
    waiter = threading.Thread(target=lambda: done.append(log.append(7, 2, "click")))
    waiter.start()
    other = open_event_log(None, pg_url)  # type: ignore[arg-type]
    assert other.append(8, 3, "click").id > first  # another user goes straight through
    waiter.join(0.5)
    assert waiter.is_alive() and not done, "user 7's second append must wait for the first commit"
    slow.commit()
    waiter.join(30)
    assert done and done[0].id > first
    assert [e.id for e in log.events(7)] == [first, done[0].id]
    for handle in (slow, log, other):
        handle.close()


@pytest.mark.slow
def test_the_cli_runs_on_postgresql_and_never_prints_the_password(home, pg_server):
    """`recsys-tui --log-url` end to end: a rating lands in PostgreSQL; status hides the password."""
    import psycopg
    from recsys_tui.faults.workload import run_cli

    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute("CREATE ROLE app LOGIN PASSWORD 'Pg-Secret-91'")
        conn.execute("CREATE DATABASE cli_db OWNER app")
    url = pg_server.url.replace("recsys@", "app:Pg-Secret-91@").rsplit("/", 1)[0] + "/cli_db"

    rc, out, err = run_cli(["--home", str(home.root), "--log-url", url, "rate", "-u", "3", "-i", "50",
                            "-r", "5"])
    assert rc == 0, err
    rc2, out2, err2 = run_cli(["--home", str(home.root), "--log-url", url, "status"])
    assert rc2 == 0 and "postgresql" in out2 and "n_events: 1" in out2, out2 + err2
    assert "Pg-Secret-91" not in out + err + out2 + err2
    log = open_event_log(None, url)  # type: ignore[arg-type]
    assert [(e.user_id, e.item_id, e.rating) for e in log.events()] == [(3, 50, 5.0)]
    log.close()
    assert not (home.root / "events.sqlite3").exists() or EventLog(home.event_log).count() == 0


def test_a_postgresql_undo_is_one_round_trip(pg_url):
    """The undo and the cancelled event come back in one statement (one round trip)."""
    log = open_event_log(None, pg_url)  # type: ignore[arg-type]
    a = log.append(21, 10, "rating", 4.0, ts=100)
    b = log.append(21, 11, "click", None, ts=101)
    sent: list[str] = []
    query = log._query

    def counted(sql, args=()):
        sent.append(sql)
        return query(sql, args)

    log._query = counted
    marker, target = log.undo_last(21, b.id)
    assert len(sent) == 1
    assert target == b and target.kind == "click" and target.ts == 101
    assert marker.undoes == b.id and marker.item_id == 11 and marker.prev_id == b.id
    assert log.undo_last(21, b.id) is None and len(sent) == 2  # already undone: one statement, None
    assert log.events(21) == [a]
    log.close()


def test_a_postgresql_append_survives_a_new_connection_and_says_why_it_was_refused(pg_url):
    """The append's own prepared statement is made again on a new connection (after the server
    dropped the old one), and a refused event is one clear line naming the constraint."""
    import psycopg

    log = open_event_log(None, pg_url)  # type: ignore[arg-type]
    a = log.append(31, 10, "rating", 4.0, ts=100)
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                      "AND datname = current_database()")
    with pytest.raises(EventLogError):
        log.append(31, 11, "click")  # the cut connection: not acknowledged
    b = log.append(31, 12, "view", None, ts=102)  # reconnected, prepared again
    assert b.prev_id == a.id and b.id > a.id
    with pytest.raises(EventLogError, match="events_rating_check") as refused:
        log.append(31, 13, "rating", 9.0)
    assert "\n" not in str(refused.value) and "ERROR" not in str(refused.value)
    assert [(e.item_id, e.kind, e.rating, e.ts) for e in log.events(31)] == [(10, "rating", 4.0, 100),
                                                                           (12, "view", None, 102)]
    log.close()

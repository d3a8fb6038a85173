"""The durable event log: append/read, undo markers, persistence across reopen, parameterised SQL."""

from __future__ import annotations

import sqlite3

import pytest
from recsys_tui.core.event_log import EventLog, EventLogError


def test_append_returns_increasing_ids_and_reads_back_in_order(log):
    a = log.append(1, 10, "rating", 5.0, ts=100)
    b = log.append(2, 11, "click", ts=101)
    c = log.append(1, 12, "view")
    assert a.id < b.id < c.id
    assert c.ts > 0
    assert [(e.user_id, e.item_id, e.kind, e.rating) for e in log.events()] == [
        (1, 10, "rating", 5.0), (2, 11, "click", None), (1, 12, "view", None)]
    assert [e.id for e in log.events(user_id=1)] == [a.id, c.id]
    assert [e.id for e in log.events(after_id=a.id)] == [b.id, c.id]
    assert log.count() == 3 and log.max_id() == c.id
    assert log.last_per_user() == {1: c.id, 2: b.id}


def test_undo_marker_hides_the_event_but_keeps_it(log):
    kept = log.append(1, 10, "rating", 4.0)
    gone = log.append(1, 11, "rating", 2.0)
    marker = log.append(1, 11, "undo", undoes=gone.id)
    assert [e.id for e in log.events(1)] == [kept.id]
    assert [e.id for e in log.events(1, include_undone=True)] == [kept.id, gone.id, marker.id]
    assert [e.kind for e in log.iter_all()] == ["rating", "rating", "undo"]
    events, undone = log.backlog(1, 0, marker.id)
    assert [e.id for e in events] == [kept.id, gone.id, marker.id]
    assert undone[gone.id].item_id == 11
    assert log.count() == 3


def test_events_survive_close_and_reopen(tmp_path):
    path = tmp_path / "events.sqlite3"
    first = EventLog(path)
    written = [first.append(7, 100 + n, "rating", float(1 + n % 5), ts=1000 + n) for n in range(25)]
    first.register_user(944)
    first.close()
    again = EventLog(path)
    try:
        assert again.events() == written
        assert again.registered_users() == [944]
        assert again.append(7, 1, "view").id == written[-1].id + 1
        assert again.integrity() == "ok"
    finally:
        again.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode.lower() == "wal"


def test_register_user_allocates_fresh_ids(log):
    assert not log.is_registered(944)
    assert log.register_user(944) == 944
    assert log.register_user(944) == 945
    assert log.register_user(2000) == 2000
    assert log.registered_users() == [944, 945, 2000]
    assert log.is_registered(945) and not log.is_registered(946)


def test_ids_are_never_reused_after_the_newest_row_is_deleted(tmp_path):
    path = tmp_path / "e.sqlite3"
    log = EventLog(path)
    last = log.append(1, 1, "view")
    log.close()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM events WHERE id = ?", (last.id,))
    db.commit()
    db.close()
    log = EventLog(path)
    assert log.append(1, 2, "view").id > last.id  # AUTOINCREMENT
    log.close()


HOSTILE = "Robert'); DROP TABLE events; -- \"Amélie\" 100% ☃"


def test_hostile_strings_are_stored_verbatim(log, tmp_path):
    """Values travel as SQL parameters: a title-like hostile string lands verbatim and harms nothing."""
    log.append(1, 10, "rating", 5.0)
    log._db.execute("INSERT INTO meta VALUES (?, ?)", ("note", HOSTILE))
    with pytest.raises(EventLogError):
        log.append(1, 10, HOSTILE)  # not a kind: refused by the schema, not executed
    assert log._query("SELECT value FROM meta WHERE key = ?", ("note",)) == [(HOSTILE,)]
    assert log.count() == 1 and log.integrity() == "ok"


@pytest.mark.parametrize(("user", "item", "kind", "rating"), [
    (0, 1, "rating", 3.0), (1, -1, "click", None), (1, 1, "rating", 6.0), (1, 1, "rating", 0.0),
    (1, 1, "like", None),
])
def test_schema_refuses_impossible_rows(log, user, item, kind, rating):
    with pytest.raises(EventLogError) as info:
        log.append(user, item, kind, rating)
    assert "\n" not in str(info.value)
    assert log.count() == 0


def test_unusable_file_is_a_clean_error(tmp_path):
    path = tmp_path / "events.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EventLogError, match="move it aside"):
        EventLog(path)


def test_commits_leave_the_wal_checkpoint_to_the_checkpointer_thread(tmp_path):
    """A commit no longer checkpoints the WAL itself (2–20 ms every ~325 events at SQLite's
    default): the log's own thread copies it into the database every ``CHECKPOINT_EVERY`` commits,
    and a commit checkpoints only as a bound far above that."""
    from recsys_tui.core.event_log import CHECKPOINT_EVERY, WRITER_CHECKPOINT_PAGES

    path = tmp_path / "events.sqlite3"
    log = EventLog(path)
    try:
        assert log._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WRITER_CHECKPOINT_PAGES
        for n in range(CHECKPOINT_EVERY - 1):
            log.append(n % 7 + 1, n + 1, "click")
        assert log.checkpointer.runs == 0 and log.checkpointer._thread is None  # not yet started
        main_before = path.stat().st_size
        undone = log.append(1, 99_999, "rating", 4.0)  # the CHECKPOINT_EVERY-th commit wakes it
        assert log.checkpointer.wait(1, timeout=120)
        assert log.checkpointer.error is None
        assert path.stat().st_size > main_before  # the WAL's pages reached the database file
        assert log.undo_last(1, undone.id) is not None  # an undo commit counts too
        for n in range(CHECKPOINT_EVERY - 1):
            log.append(n % 7 + 1, n + 1, "view")
        assert log.checkpointer.wait(2, timeout=120)
        thread = log.checkpointer._thread
    finally:
        log.close()
    assert thread is not None and not thread.is_alive()  # close stops and joins it
    again = EventLog(path)
    try:
        assert again.count() == 2 * CHECKPOINT_EVERY  # the undo marker is a row too
        assert again.integrity() == "ok"
    finally:
        again.close()


def test_a_checkpoint_that_fails_is_noted_and_the_log_goes_on(tmp_path):
    log = EventLog(tmp_path / "events.sqlite3")
    try:
        log.checkpointer.path = tmp_path / "missing" / "nowhere.sqlite3"  # its connection cannot open
        log.checkpointer.request()
        log.checkpointer._thread.join(timeout=120)
        assert log.checkpointer.error and "unable to open" in log.checkpointer.error
        assert log.append(1, 2, "click").id == 1  # the writer is unaffected
    finally:
        log.close()

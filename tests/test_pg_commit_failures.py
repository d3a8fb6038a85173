"""A PostgreSQL append that fails on a real server: refused at commit time (a deferred constraint)
or cut mid-statement (the session terminated), the event is not acknowledged and leaves no trace
in the engine's view, the log or the store, and the next event is logged (on a new connection)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLogError
from recsys_tui.faults.verify import store_matches_log

REFUSED_ITEM = 666
REFUSE_AT_COMMIT = f"""
CREATE FUNCTION refuse_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.item_id = {REFUSED_ITEM} THEN RAISE EXCEPTION 'item refused at commit'; END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_item();
"""

SLOW_ITEM = 181
SLOW_INSERT = f"""
CREATE FUNCTION slow_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.item_id = {SLOW_ITEM} THEN PERFORM pg_sleep(10); END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER slow_insert BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION slow_item();
"""


@pytest.fixture
def engine(home, pg_url):
    engine = Engine.open(home, None, log_url=pg_url)
    yield engine
    engine.close()


def snapshot(engine: Engine, user: int) -> tuple:
    state = engine._users[user]
    return (dict(state.ratings), list(state.logged), state.last_event_id, state.n_live,
            state.vector.tolist(), [r.item_id for r in engine.recommend(user).items])


def test_a_commit_that_fails_leaves_the_view_the_log_and_the_store_unchanged(engine, pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(REFUSE_AT_COMMIT)
    engine.record(8, 50, "rating", 5)
    before = snapshot(engine, 8)
    counts = engine.store.user(8).counts
    with pytest.raises(EventLogError, match="item refused at commit") as failed:
        engine.record(8, REFUSED_ITEM, "rating", 5)
    assert "\n" not in str(failed.value)
    assert snapshot(engine, 8) == before
    assert [e.item_id for e in engine.log.events(8)] == [50]
    assert engine.store.user(8).counts == counts and store_matches_log(engine) == []
    after = engine.record(8, 181, "rating", 4)  # the connection is usable right away
    assert [e.item_id for e in engine.log.events(8)] == [50, 181] and after.event_id > 0


def test_a_session_cut_mid_statement_is_one_line_and_the_next_event_reconnects(engine, pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SLOW_INSERT)
    engine.record(9, 50, "rating", 5)
    before = snapshot(engine, 9)

    def cut() -> None:  # once the slow insert is running, the server ends its session
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for _ in range(200):
                if conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                "datname = current_database() AND pid <> pg_backend_pid() "
                                "AND query LIKE '%recsys_append%' AND state = 'active'").fetchall():
                    return
                threading.Event().wait(0.05)

    killer = threading.Thread(target=cut)
    killer.start()
    with pytest.raises(EventLogError) as failed:
        engine.record(9, SLOW_ITEM, "rating", 4)
    killer.join(30)
    assert "\n" not in str(failed.value) and "event log" in str(failed.value)
    assert snapshot(engine, 9) == before  # nothing acknowledged: the view is as it was
    assert [e.item_id for e in engine.log.events(9)] == [50]  # cut before its commit
    engine.record(9, 172, "rating", 3)  # a new connection
    assert [e.item_id for e in engine.log.events(9)] == [50, 172]
    assert engine._users[9].last_event_id == engine.log.last_event_id(9)

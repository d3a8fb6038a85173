"""The PostgreSQL append in flight (core.pg_pending_append) on a real server: the engine folds the
event into a copy of the view while the server commits; only a committed event changes the view,
a failed commit or a cut connection leaves no trace, and the next event uses a new connection."""

from __future__ import annotations

import psycopg
import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLogError
from recsys_tui.core.hot_path import HotPath
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


def drafts(monkeypatch) -> list[bool]:
    """Whether each record folded the event in while the commit was in flight."""
    seen: list[bool] = []
    draft = HotPath._draft

    def spy(self, state, appending):
        out = draft(self, state, appending)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(HotPath, "_draft", spy)
    return seen


def snapshot(engine: Engine, user: int) -> tuple:
    state = engine._users[user]
    return (dict(state.ratings), list(state.logged), state.last_event_id, state.n_live,
            state.vector.tolist(), [r.item_id for r in engine.recommend(user).items])


def test_events_fold_in_during_the_commit_and_equal_a_fresh_process(engine, home, pg_url, monkeypatch):
    seen = drafts(monkeypatch)
    for item, rating in ((50, 5), (181, 4), (172, 1)):
        result = engine.record(7, item, "rating", rating)
        assert result.event_id > 0 and result.timings.steps["log"] > 0
    engine.record(7, 100, "click")
    assert seen == [True] * 4
    assert [e.item_id for e in engine.log.events(7)] == [50, 181, 172, 100]
    fresh = Engine.open(home, None, log_url=pg_url)
    try:
        assert engine.embedding(7).tolist() == fresh.embedding(7).tolist()
        assert [r.item_id for r in engine.recommend(7).items] == [r.item_id for r in fresh.recommend(7).items]
    finally:
        fresh.close()
    assert store_matches_log(engine) == []


def test_a_commit_that_fails_leaves_the_view_the_log_and_the_store_unchanged(engine, pg_url, monkeypatch):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(REFUSE_AT_COMMIT)
    engine.record(8, 50, "rating", 5)
    before = snapshot(engine, 8)
    counts = engine.store.user(8).counts
    seen = drafts(monkeypatch)
    with pytest.raises(EventLogError, match="item refused at commit") as failed:
        engine.record(8, REFUSED_ITEM, "rating", 5)
    assert "\n" not in str(failed.value)
    assert seen == [True]  # the fold-in ran while the server tried to commit…
    assert snapshot(engine, 8) == before  # …and left no trace
    assert [e.item_id for e in engine.log.events(8)] == [50]
    assert engine.store.user(8).counts == counts and store_matches_log(engine) == []
    after = engine.record(8, 181, "rating", 4)  # the connection is usable right away
    assert [e.item_id for e in engine.log.events(8)] == [50, 181] and after.event_id > 0


def test_a_connection_cut_during_the_commit_is_one_line_and_the_next_event_reconnects(engine, pg_url,
                                                                                      monkeypatch):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SLOW_INSERT)
    engine.record(9, 50, "rating", 5)
    before = snapshot(engine, 9)
    draft = HotPath._draft

    def cut_then_draft(self, state, appending):
        with psycopg.connect(pg_url, autocommit=True) as conn:  # ends the session mid-statement
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return draft(self, state, appending)

    monkeypatch.setattr(HotPath, "_draft", cut_then_draft)
    with pytest.raises(EventLogError) as failed:
        engine.record(9, SLOW_ITEM, "rating", 4)
    assert "\n" not in str(failed.value) and "event log" in str(failed.value)
    monkeypatch.undo()
    assert snapshot(engine, 9) == before  # nothing acknowledged: the view is as it was
    assert [e.item_id for e in engine.log.events(9)] == [50]  # cut before its commit
    engine.record(9, 172, "rating", 3)  # a new connection
    assert [e.item_id for e in engine.log.events(9)] == [50, 172]
    assert engine._users[9].last_event_id == engine.log.last_event_id(9)


def test_a_fold_in_that_fails_still_frees_the_connection(engine, monkeypatch):
    engine.record(10, 50, "rating", 5)

    def broken(*args, **kwargs):
        raise RuntimeError("fold-in bug")

    monkeypatch.setattr(HotPath, "_refold", broken)
    with pytest.raises(RuntimeError, match="fold-in bug"):
        engine.record(10, 181, "rating", 4)
    monkeypatch.undo()
    assert [e.item_id for e in engine.log.events(10)] == [50, 181]  # logged, never acknowledged
    result = engine.record(10, 172, "rating", 3)  # the lock and the connection were released
    assert result.after.personal
    assert engine._users[10].last_event_id == result.event_id
    assert 181 in engine._users[10].ratings  # the unacknowledged event was noticed (prev_id)

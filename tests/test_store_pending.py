"""The overlapped feature write (core.store_pending) on a real redis-server: sent before the search,
read after it, each event applied exactly once, and every unusual reply handed to ``apply``."""

from __future__ import annotations

import pytest
import redis
from recsys_tui.core import store_pending
from recsys_tui.core.engine import Engine
from recsys_tui.faults.verify import store_matches_log


@pytest.fixture
def engine(home, redis_server):
    engine = Engine.open(home, redis_server.url)
    yield engine
    engine.close()


def spy(monkeypatch) -> list[str]:
    """Record which statuses ``finish`` returned (and that ``begin`` sent something)."""
    seen: list[str] = []
    begin, finish = store_pending.begin, store_pending.finish

    def counting_begin(*args, **kwargs):
        pending = begin(*args, **kwargs)
        seen.append("sent" if pending is not None and pending.conn is not None else "not sent")
        return pending

    def counting_finish(pending):
        status = finish(pending)
        seen.append(status)
        return status

    monkeypatch.setattr(store_pending, "begin", counting_begin)
    monkeypatch.setattr(store_pending, "finish", counting_finish)
    return seen


def test_a_personal_users_write_is_overlapped_and_lands_once(engine, monkeypatch):
    seen = spy(monkeypatch)
    for item in (50, 181, 172):
        result = engine.record(1, item, "rating", 5)
        assert result.degraded is None and result.after.personal
        assert result.timings.steps["features"] > 0
    assert seen == ["sent", "applied"] * 3
    assert engine.store.writer.command == "FCALL"
    assert store_matches_log(engine) == []
    assert engine.store.user(1).counts["rating"] == 3
    assert engine.store.user(1).last_event_id == result.event_id


def test_a_cold_start_users_write_is_not_overlapped(engine, monkeypatch):
    seen = spy(monkeypatch)
    user = engine.new_user()
    result = engine.record(user, 50, "rating", 1)  # a dislike: still no positive signal
    assert not result.after.personal and seen == []
    assert store_matches_log(engine) == []


def test_function_not_found_after_a_flush_goes_through_apply(engine, monkeypatch):
    engine.record(2, 50, "rating", 4)
    assert engine.store.writer.command == "FCALL"
    engine.store.client.function_flush()
    engine.store.client.script_flush()
    seen = spy(monkeypatch)
    result = engine.record(2, 60, "rating", 5)
    assert result.degraded is None
    assert seen == ["sent", "applied"]  # "function not found" read, then apply reloaded and resent
    assert store_matches_log(engine) == []
    assert engine.store.user(2).counts["rating"] == 2


def test_a_connection_cut_between_send_and_reply_is_retried_once(engine, redis_server, monkeypatch):
    engine.record(3, 50, "rating", 4)
    finish = store_pending.finish
    other = redis.Redis.from_url(redis_server.url)

    def cut_then_finish(pending):
        other.client_kill_filter(_type="normal", skipme=True)  # the reply is lost; the script ran
        return finish(pending)

    monkeypatch.setattr(store_pending, "finish", cut_then_finish)
    result = engine.record(3, 60, "rating", 5)
    assert result.degraded is None
    assert store_matches_log(engine) == []  # applied once, whether the first send ran or not
    assert engine.store.user(3).counts["rating"] == 2
    other.close()


def test_a_server_gone_at_the_send_degrades_and_keeps_the_event(engine, redis_server, monkeypatch):
    engine.record(4, 50, "rating", 4)
    begin = store_pending.begin

    def stop_then_begin(*args, **kwargs):
        redis_server.stop()  # the pooled connection is open: the send or the reply fails
        return begin(*args, **kwargs)

    monkeypatch.setattr(store_pending, "begin", stop_then_begin)
    result = engine.record(4, 60, "rating", 5)
    assert result.degraded and "unreachable" in result.degraded
    assert [e.item_id for e in engine.log.events(4)] == [50, 60]
    assert [r.item_id for r in result.after.items] and result.after.personal

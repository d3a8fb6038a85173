"""The overlapped Redis Cluster write (core.cluster_pending) on a real 3-master cluster: step 1 sent
after the log commit, step 2 only after step 1's reply, each event applied exactly once, and every
unusual reply handed to the store's synchronous ``apply``."""

from __future__ import annotations

import time

import pytest
import redis
from recsys_tui.core import cluster_pending, keys
from recsys_tui.core.cluster_store import ClusterFeatureStore
from recsys_tui.core.engine import Engine
from recsys_tui.faults.verify import store_matches_log
from recsys_tui.faults.workload import event_stream, play

from tests.pg_server import RedisClusterServers

pytestmark = pytest.mark.redis


@pytest.fixture
def engine(home, redis_cluster):
    redis_cluster.flush()
    engine = Engine.open(home, redis_cluster.url)
    engine.record(900, 1, "rating", 4)  # the first write loads the scripts (NOSCRIPT → apply)
    yield engine
    engine.close()


def spy(monkeypatch) -> list[str]:
    """Record each stage the write went through and whether the synchronous apply ran."""
    seen: list[str] = []
    begin, send_user, finish = cluster_pending.begin, cluster_pending.send_user, cluster_pending.finish
    apply = ClusterFeatureStore.apply

    def spy_begin(*args):
        pending = begin(*args)
        seen.append(f"begin:{pending.stage if pending else None}")
        return pending

    def spy_send(pending, *args):
        send_user(pending, *args)
        seen.append(f"send:{pending.stage}")

    def spy_finish(pending):
        status = finish(pending)
        seen.append(f"finish:{status}")
        return status

    def spy_apply(self, *args, **kwargs):
        seen.append("sync")
        return apply(self, *args, **kwargs)

    monkeypatch.setattr(cluster_pending, "begin", spy_begin)
    monkeypatch.setattr(cluster_pending, "send_user", spy_send)
    monkeypatch.setattr(cluster_pending, "finish", spy_finish)
    monkeypatch.setattr(ClusterFeatureStore, "apply", spy_apply)
    return seen


def test_a_personal_users_write_is_overlapped_in_order_and_lands_once(engine, monkeypatch):
    seen = spy(monkeypatch)
    for item in (50, 181, 172):
        result = engine.record(1, item, "rating", 5)
        assert result.degraded is None and result.after.personal
    assert seen == ["begin:global", "send:user", "finish:applied"] * 3  # never the synchronous path
    assert store_matches_log(engine) == []
    assert engine.store.user(1).counts["rating"] == 3
    assert engine.store.user(1).last_event_id == result.event_id
    assert list(engine.store.user(1).embedding) == list(engine.embedding(1))


def test_a_cold_start_user_is_written_before_the_popular_list(engine, monkeypatch):
    user = engine.new_user()
    before = engine.store.popularity()[50]
    seen = spy(monkeypatch)
    result = engine.record(user, 50, "rating", 1)  # a dislike: still no positive signal
    assert not result.after.personal
    assert seen == ["begin:global", "send:user", "finish:applied"]
    assert engine.store.popularity()[50] == before + 1
    assert store_matches_log(engine) == []


def test_another_processs_event_missing_from_the_store_goes_through_apply(engine, monkeypatch):
    engine.record(2, 50, "rating", 4)
    engine.log.append(2, 60, "rating", 3.0)  # logged by "another process" that never wrote the store
    seen = spy(monkeypatch)
    result = engine.record(2, 70, "rating", 5)
    assert result.degraded is None
    assert seen == ["begin:global", "send:user", "sync", "finish:applied"]  # step 2 refused: backlog sent
    assert store_matches_log(engine) == []
    assert engine.store.user(2).counts["rating"] == 3


def test_an_emptied_cluster_refuses_step_1_and_is_rebuilt(engine, redis_cluster, monkeypatch):
    engine.record(3, 50, "rating", 4)
    redis_cluster.flush()  # every master empty: step 1 answers unseeded, step 2 is never sent
    seen = spy(monkeypatch)
    result = engine.record(3, 60, "rating", 5)
    assert result.degraded is None
    assert seen[:3] == ["begin:global", "send:sync", "sync"]
    assert store_matches_log(engine) == []
    assert engine.store.user(3).counts["rating"] == 2


def test_noscript_on_both_steps_goes_through_apply(engine, redis_cluster):
    engine.record(4, 50, "rating", 4)
    for port in redis_cluster.master_ports():
        with redis.Redis(port=port) as node:
            node.script_flush()
    result = engine.record(4, 60, "rating", 5)
    assert result.degraded is None
    assert store_matches_log(engine) == []


def test_a_reply_lost_after_step_2_ran_is_not_counted_twice(engine, monkeypatch):
    engine.record(5, 50, "rating", 4)
    send_user = cluster_pending.send_user

    def send_then_cut(pending, *args):
        send_user(pending, *args)
        assert pending.stage == "user"
        client = pending.store.client
        node = client.get_node_from_key(keys.user_key(5, "meta"))
        conn = redis.Redis(host=node.host, port=node.port)
        conn.execute_command("EVAL", "return 1", 0)  # most likely after step 2 (sent earlier)
        conn.client_kill_filter(_type="normal", skipme=True)  # the reply is lost, step 2 ran or not
        conn.close()

    monkeypatch.setattr(cluster_pending, "send_user", send_then_cut)
    result = engine.record(5, 60, "rating", 5)
    assert result.degraded is None
    assert store_matches_log(engine) == []  # the sync path re-read last_event_id: applied once
    assert engine.store.user(5).counts["rating"] == 2


def test_a_lost_reply_of_step_1_never_lets_step_2_run_ahead(engine, redis_cluster, monkeypatch):
    engine.record(6, 50, "rating", 4)
    begin = cluster_pending.begin

    def begin_then_cut(*args):
        pending = begin(*args)
        node = pending.store.client.get_node_from_key(keys.EPOCH)
        conn = redis.Redis(host=node.host, port=node.port)
        conn.client_kill_filter(_type="normal", skipme=True)
        conn.close()
        return pending

    monkeypatch.setattr(cluster_pending, "begin", begin_then_cut)
    result = engine.record(6, 60, "rating", 5)
    assert result.degraded is None
    assert store_matches_log(engine) == []
    assert engine.store.user(6).counts["rating"] == 2


def _recover(engine: Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.reconnect() is not None:
        assert time.monotonic() < deadline, f"store never came back: {engine.degraded}"
        time.sleep(0.5)


def _port(engine: Engine, key: str) -> int:
    return int(engine.store.client.get_node_from_key(key).port)


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.parametrize("victim", ["user", "global"])
def test_a_master_killed_between_the_two_steps_loses_nothing_and_counts_nothing_twice(home, monkeypatch,
                                                                                     victim):
    """``user``: step 1 landed, the user's master dies before step 2 is sent. ``global``: the
    ``{g}`` master dies with step 1 in flight (its reply may or may not have been sent). Either way
    the event is logged, the engine degrades (now or at the next event), and once the node is back
    (empty) the store is rebuilt from the log exactly."""
    cluster = RedisClusterServers(masters=3).start()
    try:
        engine = Engine.open(home, cluster.url)
        g_port = _port(engine, keys.EPOCH)
        user = next(u for u in range(1, 200) if _port(engine, keys.user_key(u, "meta")) != g_port)
        stream = [e for e in event_stream(6, 80, [user, user + 1]) if e[0] != "undo"]
        for event in stream[:40]:
            play(engine, event)
        port = _port(engine, keys.user_key(user, "meta")) if victim == "user" else g_port
        send_user = cluster_pending.send_user

        def kill_then_send(pending, *args):
            cluster.kill(port)
            send_user(pending, *args)

        monkeypatch.setattr(cluster_pending, "send_user", kill_then_send)
        result = engine.record(user, 1680, "rating", 5)
        monkeypatch.undo()
        assert engine.log.events(user)[-1].id == result.event_id
        if victim == "user":  # step 2 cannot be sent: degraded now (step 1's reply may have been read)
            assert result.degraded is not None
        for event in stream[40:]:
            play(engine, event)  # logged while the node is down
        assert engine.degraded is not None
        cluster.restart(port)
        _recover(engine)
        assert store_matches_log(engine) == []
        fresh = Engine.open(home, cluster.url)
        try:
            assert [r.item_id for r in engine.recommend(user).items] == \
                [r.item_id for r in fresh.recommend(user).items]
        finally:
            fresh.close()
        engine.close()
    finally:
        cluster.stop()


def test_the_watermark_read_uses_the_hot_connection_and_falls_back_to_the_router(engine, monkeypatch):
    store = engine.store
    result = engine.record(7, 50, "rating", 4)
    routed = []
    hget = store.client.hget

    def spy_hget(*args):
        routed.append(args)
        return hget(*args)

    monkeypatch.setattr(store.client, "hget", spy_hget)
    assert store.last_event_id(7) == result.event_id and routed == []  # the hot connection answered
    conn = store.hot_connection(keys.user_key(7, "meta"))
    conn.disconnect()  # cut: the next hot read reconnects
    assert store.last_event_id(7) == result.event_id and routed == []
    store.unread.add(id(conn))  # a write in flight on that connection: the router answers
    assert store.last_event_id(7) == result.event_id and len(routed) == 1
    store.unread.discard(id(conn))
    with redis.Redis(host=conn.host, port=conn.port) as node:
        node.client_kill_filter(_type="normal", skipme=True)  # the server drops the hot connection
    assert store.last_event_id(7) == result.event_id and len(routed) == 2  # its error: the router
    assert store.last_event_id(7) == result.event_id and len(routed) == 2  # and then hot again


def test_an_undo_is_written_overlapped_in_order_and_takes_back_exactly_once(engine, monkeypatch):
    engine.record(8, 50, "rating", 4)
    engine.record(8, 60, "click")
    pop = engine.store.popularity()
    seen = spy(monkeypatch)
    result = engine.undo_last(8)  # cancels the click on 60
    assert result.degraded is None
    assert seen == ["begin:global", "send:user", "finish:applied"]  # never the synchronous path
    assert store_matches_log(engine) == []
    feats = engine.store.user(8)
    assert feats.last_event_id == result.event_id
    assert feats.counts.get("click", 0) == 0 and feats.counts["rating"] == 1
    assert [r[1] for r in feats.recent] == [50]  # the click's recent entry is gone
    assert engine.store.popularity()[60] == pop[60] - 1 and engine.store.popularity()[50] == pop[50]
    assert feats.embedding_version == f"{engine.version}@{result.event_id}"
    assert list(feats.embedding) == list(engine.embedding(8))


def test_an_undo_after_another_processs_event_goes_through_apply(engine, monkeypatch):
    engine.record(9, 50, "rating", 4)
    other = engine.log.append(9, 70, "rating", 2.0)  # "another process": logged, not in the store
    seen = spy(monkeypatch)
    result = engine.undo_last(9)  # cancels the other process's rating (the newest live event)
    assert result.degraded is None
    assert seen == ["begin:global", "send:user", "sync", "finish:applied"]  # step 2 refused: backlog
    assert store_matches_log(engine) == []
    feats = engine.store.user(9)
    assert feats.last_event_id == result.event_id and feats.counts["rating"] == 1
    assert other.id not in [e.id for e in engine.log.events(9)]  # the other process's event is undone


def test_an_undo_without_the_cancelled_event_is_not_sent_overlapped(engine):
    from recsys_tui.core.event_log import Event

    marker = Event(10**9, 8, 50, "undo", None, 0, 123, 5)
    assert cluster_pending.begin(engine.store, marker, engine.log) is None  # it cannot take it back
    wrong = Event(124, 8, 50, "rating", 4.0, 0)
    assert cluster_pending.begin(engine.store, marker, engine.log, wrong) is None  # not the one it undoes

"""The feature store stays exact when Redis misbehaves (issue 12 §2) and on the script path (issue 14).

Real servers throughout: redis-server on free loopback ports, with a real TCP proxy in front when
the server must trickle its replies or lose one.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from recsys_tui.core import keys
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.feature_store import FeatureStore, StoreError
from recsys_tui.core.store_connection import StoreUrlError, check_url, redact
from recsys_tui.faults.tcp_proxy import Proxy
from recsys_tui.faults.verify import store_matches_log
from recsys_tui.faults.workload import copy_home, one_clean_line, run_cli

from tests.redis_server import RedisServer

SECRET = "hunter2-Very-Secret"


@pytest.fixture
def store(store_url, log):
    store = FeatureStore.open(store_url)
    store.log_id = log.log_id
    store.ping()
    store.catch_up({10: 5.0, 20: 2.0}, "test-seed", [], {})
    yield store
    store.client.close()


@pytest.fixture
def proxy(redis_server):
    proxy = Proxy(redis_server.port).start()
    yield proxy
    proxy.stop()


# -- the script path: exactly once under retries and restarts ----------------------------------

def test_script_survives_a_flushed_script_cache(store, log):
    """A restarted server (or SCRIPT/FUNCTION FLUSH) has no script and no function: "function not
    found" reloads the library, NOSCRIPT (EVALSHA, the cluster's steps) loads the script."""
    first = log.append(1, 10, "rating", 4.0)
    assert store.apply(first, log=log) == "applied"
    store.client.script_flush()
    if store.writer is not None:  # one node: the write is a function (a cluster's steps are scripts)
        store.client.function_flush()
    second = log.append(1, 20, "click")
    assert store.apply(second, log=log) == "applied"
    assert store.apply(second, log=log) == "already"
    assert store.user(1).counts == {"rating": 1, "click": 1, "view": 0}
    assert store.popularity() == {10: 6.0, 20: 3.0}


def test_gap_is_filled_from_the_log_once(store, log):
    """Events logged by another process and not yet written are applied before the new one, once."""
    others = [log.append(2, 30 + n, "view") for n in range(3)]
    newest = log.append(2, 40, "rating", 2.0)
    assert store.apply(newest, log=log) == "applied"
    for event in others:  # the other process's own writes arrive late
        assert store.apply(event, log=log) == "already"
    assert store.user(2).counts == {"rating": 1, "click": 0, "view": 3}
    assert store.watermark() == newest.id


@pytest.mark.redis
def test_lost_reply_is_retried_and_applied_once(home, redis_server, proxy):
    engine = Engine.open(home, proxy.url)
    assert engine.degraded is None
    engine.record(1, 50, "rating", 4, with_before=False)
    proxy.mode = "drop_reply"  # the next write reaches Redis, its reply is lost
    result = engine.record(1, 51, "rating", 5, with_before=False)
    assert proxy.mode == "pass"  # the reply really was dropped
    assert result.degraded is None
    assert store_matches_log(engine) == []
    assert engine.store.user(1).counts["rating"] == 2
    engine.close()


@pytest.mark.redis
def test_restarted_empty_server_is_rebuilt_on_the_script_path(home, tmp_path):
    server = RedisServer(tmp_path / "r1").start()
    try:
        engine = Engine.open(home, server.url)
        for n in range(5):
            engine.record(2, 60 + n, "click", with_before=False)
        server.kill()
        server = RedisServer(tmp_path / "r2", port=server.port).start()  # empty, no scripts cached
        engine.reconnect()
        engine.record(2, 70, "rating", 3, with_before=False)
        assert engine.degraded is None
        assert store_matches_log(engine) == []
        assert engine.store.user(2).counts == {"rating": 1, "click": 5, "view": 0}
        engine.close()
    finally:
        server.stop()


# -- a total deadline on every store call -------------------------------------------------------

@pytest.mark.redis
def test_trickling_server_cannot_block_rate_or_the_engine_lock(home, proxy):
    engine = Engine.open(home, proxy.url)
    assert engine.degraded is None
    proxy.mode = "trickle"  # one byte every 0.3 s: each reply takes seconds, socket_timeout never fires
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(engine.record(1, 50, "rating", 4,
                                                                      with_before=False)))
    worker.start()
    worker.join(30)  # a trickled EVALSHA reply alone would take ~10 s, the ping after it more
    assert not worker.is_alive(), "record() is still blocked on the trickling server"
    result = done[0]
    assert result.degraded and "feature store" in result.degraded
    assert engine.log.count() == 1  # the event is kept in the log
    proxy.mode = "pass"
    assert engine.reconnect() is None
    assert store_matches_log(engine) == []
    engine.close()


def test_a_deadline_socket_changes_its_timeout_only_when_the_deadline_is_tighter():
    """Each read and write stops at min(socket timeout, time left in the call); the socket's timeout
    is changed (a system call each way) only when the time left is the tighter one."""
    import socket

    from recsys_tui.core.store_connection import _DeadlineSocket, deadline

    a, b = socket.socketpair()
    a.settimeout(0.5)
    set_to: list[float | None] = []

    class Spy:
        def __getattr__(self, name):
            return getattr(a, name)

        def settimeout(self, value):
            set_to.append(value)
            a.settimeout(value)

    sock = _DeadlineSocket(Spy())  # type: ignore[arg-type]
    b.sendall(b"xy")
    assert sock.recv(1) == b"x" and set_to == []  # no deadline: the socket's timeout
    with deadline(1.5):
        assert sock.recv(1) == b"y" and set_to == []  # 1.5 s left > 0.5 s: unchanged
    with deadline(0.2), pytest.raises(TimeoutError):
        sock.recv(1)  # nothing to read: stops at the deadline, not after the socket's 0.5 s
    assert len(set_to) == 2 and set_to[0] <= 0.2 and set_to[1] == 0.5  # set, then restored
    assert a.gettimeout() == 0.5
    a.close()
    b.close()


# -- eviction ---------------------------------------------------------------------------------

@pytest.mark.redis
def test_an_evicting_server_is_refused_and_a_volatile_one_warned(home, tmp_path):
    lru = RedisServer(tmp_path / "lru", extra_args=["--maxmemory-policy", "allkeys-lru"]).start()
    try:
        engine = Engine.open(home, lru.url)
        assert engine.degraded and "allkeys-lru" in engine.degraded and "noeviction" in engine.degraded
        assert engine.record(1, 50, "rating", 4, with_before=False).degraded
        assert engine.log.count() == 1  # the app keeps working from the log
        engine.close()
    finally:
        lru.stop()
    volatile = RedisServer(tmp_path / "vol", extra_args=["--maxmemory-policy", "volatile-lru"]).start()
    try:
        engine = Engine.open(home, volatile.url)
        assert engine.degraded is None
        assert any("volatile-lru" in p for p in engine.status().store_problems)
        engine.close()
    finally:
        volatile.stop()


def test_an_evicted_user_meta_is_rebuilt_from_the_log_not_double_counted(home, store_url):
    engine = Engine.open(home, store_url)
    for item in (50, 51, 52):
        engine.record(4, item, "rating", 4, with_before=False)
    engine.store.client.delete(keys.user_key(4, "meta"))  # what allkeys-lru would do
    engine.record(4, 53, "click", with_before=False)
    assert engine.degraded is None
    assert store_matches_log(engine) == []
    assert engine.store.user(4).counts == {"rating": 3, "click": 1, "view": 0}
    assert any("meta missing" in p for p in engine.status().store_problems)
    engine.close()


def test_lost_popularity_is_reported_then_rebuilt(home, store_url):
    engine = Engine.open(home, store_url)
    engine.record(5, 50, "view", with_before=False)
    engine.store.client.delete(keys.POPULARITY)
    assert any("popularity" in p for p in engine.status().store_problems)  # never "healthy"
    new = engine.new_user()
    engine.record(5, 51, "view", with_before=False)
    assert store_matches_log(engine) == []
    assert len(engine.popular_items(new, 10)) == 10
    assert len(engine.store.popularity()) > 1000  # the catalogue's counts, not one person's clicks
    engine.close()


# -- two homes, one database -----------------------------------------------------------------

@pytest.mark.redis
def test_a_second_home_on_the_same_database_is_refused(home, tmp_path, redis_server):
    other = copy_home(home, tmp_path / "other")
    a = Engine.open(home, redis_server.url)
    a.record(1, 50, "rating", 5, with_before=False)
    b = Engine.open(other, redis_server.url)
    assert b.degraded and "another event log" in b.degraded and "database" in b.degraded
    b.record(1, 50, "rating", 5, with_before=False)  # logged in b's home, never applied to a's store
    assert store_matches_log(a) == []
    a.close()
    b.close()


# -- undo is atomic in the log ------------------------------------------------------------------

@pytest.mark.redis
def test_racing_undos_never_cancel_one_event_twice(home, redis_server):
    """Two engines (as two processes would) undo the same user's newest event at the same instant,
    round after round: each event is cancelled at most once, and the store equals the log."""
    a, b = Engine.open(home, redis_server.url), Engine.open(home, redis_server.url)
    outcomes: list[str] = []
    for n in range(8):
        a.record(6, 50 + 2 * n, "rating", 2, with_before=False)
        a.record(6, 51 + 2 * n, "rating", 3, with_before=False)
        barrier = threading.Barrier(2)

        def undo(engine: Engine, barrier: threading.Barrier = barrier) -> None:
            barrier.wait(10)
            try:
                engine.undo_last(6)
                outcomes.append("undone")
            except EngineError as exc:
                outcomes.append(str(exc))

        threads = [threading.Thread(target=undo, args=(e,)) for e in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    cancelled = [e.undoes for e in a.log.events(6, include_undone=True) if e.kind == "undo"]
    assert len(cancelled) == len(set(cancelled)) == outcomes.count("undone")
    assert all(o == "undone" or "nothing undone" in o for o in outcomes), outcomes
    assert store_matches_log(a) == []
    a.close()
    b.close()


def test_log_undo_is_conditional_across_connections(tmp_path):
    path = tmp_path / "events.sqlite3"
    one, two = EventLog(path), EventLog(path)
    event = one.append(3, 10, "rating", 4.0)
    results: list[object] = []
    threads = [threading.Thread(target=lambda log=log: results.append(log.undo_last(3, event.id)))
               for log in (one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [r for r in results if r is not None]
    assert len(results) == 2 and len(winners) == 1
    assert [e.kind for e in one.events(3, include_undone=True)] == ["rating", "undo"]
    one.close()
    two.close()


# -- URLs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [f"redis://{SECRET}@127.0.0.1:6379/0", f"rediss://{SECRET}@h:6380/0",
                                 f"redis://{SECRET}:@127.0.0.1/0", f"unix://{SECRET}@/tmp/r.sock"])
def test_a_password_in_the_user_name_slot_is_never_shown(url):
    assert SECRET not in redact(url)
    assert "***@" in redact(url)


def test_secret_user_slot_never_printed_by_status_or_rate(home):
    from tests.redis_server import free_port

    url = f"redis://{SECRET}@127.0.0.1:{free_port()}/0"
    for args in (["status"], ["rate", "-u", "1", "-i", "50", "-r", "4"]):
        rc, out, err = run_cli(["--home", str(home.root), "--redis-url", url, *args])
        assert rc == 0, err
        assert SECRET not in out + err
        assert "***@127.0.0.1" in out + err


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0?socket_timeout=abc",
                                 "redis://127.0.0.1:6379/0?a=1&&=&", "redis://127.0.0.1:6379/0?db=x",
                                 f"redis://:{SECRET}@127.0.0.1:70000/0", "redis://[::1/0",
                                 "redis://127.0.0.1/0?health_check_interval=soon",
                                 "redis://127.0.0.1/0?ssl_ca_certs=/etc/ca.pem", "redis://127.0.0.1/0?colour=red"])
def test_malformed_url_query_forms_are_a_usage_error(home, url):
    with pytest.raises(StoreUrlError):
        FeatureStore.open(url)
    rc, out, err = run_cli(["--home", str(home.root), "--redis-url", url, "status"])
    assert rc == 2, (out, err)
    assert one_clean_line(err) is None, err
    assert "Traceback" not in err and SECRET not in out + err


def test_tls_without_verification_is_warned():
    _, warnings = check_url("rediss://h:6380/0?ssl_cert_reqs=none")
    assert any("verification is off" in w for w in warnings)
    assert check_url("rediss://h:6380/0?ssl_ca_certs=/etc/ca.pem")[1] == []


def test_a_store_seeded_by_another_log_refuses_writes_in_one_line(store, log):
    store.client.hset(keys.EPOCH, "log", "someone-else")
    with pytest.raises(StoreError, match="another event log") as info:
        store.apply(log.append(1, 10, "rating", 4.0), log=log)
    assert "\n" not in str(info.value)
    assert store.user(1).counts["rating"] == 0


def test_embedding_written_with_the_event(store, log):
    emb = np.arange(64, dtype=np.float32)
    store.apply(log.append(9, 10, "rating", 5.0), emb, "v7", log=log)
    feats = store.user(9)
    assert feats.embedding_version == "v7"
    assert np.array_equal(feats.embedding, emb)

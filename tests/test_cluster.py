"""Redis Cluster and PostgreSQL together: URLs, slot placement, master kills, four processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
from recsys_tui.core import keys
from recsys_tui.core.cluster_store import ClusterFeatureStore, parse_cluster_url
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.feature_store import FeatureStore, StoreError
from recsys_tui.core.home import Home
from recsys_tui.faults.verify import store_matches_log
from recsys_tui.faults.workload import copy_home, event_stream, play
from redis.cluster import key_slot

from tests.pg_server import RedisClusterServers
from tests.redis_server import free_port

pytestmark = pytest.mark.redis
SECRET = "Clu5ter-Secret"


def test_cluster_url_parsing_and_redaction():
    opts = parse_cluster_url(f"rediss+cluster://app:{SECRET}@10.0.0.1:7000,10.0.0.2:7001/0"
                             "?ssl_ca_certs=/etc/ca.pem")
    assert [(n.host, n.port) for n in opts["startup_nodes"]] == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert opts["ssl"] and opts["username"] == "app" and opts["password"] == SECRET
    assert opts["ssl_ca_certs"] == "/etc/ca.pem"
    for bad in ("redis+cluster://h:7000/3", "redis+cluster://h", "redis+cluster://h:99999",
                f"redis+cluster://:{SECRET}@h:1?foo=bar"):
        with pytest.raises(StoreError) as err:
            parse_cluster_url(bad)
        assert SECRET not in str(err.value) and "\n" not in str(err.value)


def test_an_unreachable_cluster_is_one_redacted_line():
    store = FeatureStore.open(f"redis+cluster://:{SECRET}@127.0.0.1:{free_port()}")
    assert isinstance(store, ClusterFeatureStore)
    with pytest.raises(StoreError) as err:
        store.ping()
    assert SECRET not in str(err.value) and "unreachable" in str(err.value)


def test_each_users_keys_share_a_slot_and_the_global_keys_share_another():
    for user in (1, 42, 943, 2**31 - 1):
        assert len({key_slot(keys.user_key(user, f).encode()) for f in keys.USER_FIELDS}) == 1
    glob = {key_slot(k.encode()) for k in (keys.POPULARITY, keys.WATERMARK, keys.EPOCH, keys.SEEN,
                                           keys.REBUILD_LOCK)}
    assert len(glob) == 1


def test_a_crash_between_the_global_and_the_user_step_never_double_counts(redis_cluster, tmp_path):
    redis_cluster.flush()
    store = FeatureStore.open(redis_cluster.url)
    store.catch_up({10: 5.0}, "seed", [], {})
    log = EventLog(tmp_path / "e.sqlite3")
    event = log.append(3, 10, "rating", 4.0)
    assert store._global_step([event], {})[0] == "applied"  # step 1 landed, then the process died
    assert store.user(3).last_event_id == 0
    assert store.apply(event, np.ones(4, np.float32), "v@1", log=log) == "applied"
    assert store.apply(event, log=log) == "already"
    assert store.popularity()[10] == 6.0 and store.user(3).counts["rating"] == 1
    # a catch-up repeats step 1 for every logged event: still counted once
    assert store.catch_up({10: 5.0}, "seed", log.iter_all(), log.last_per_user()) == set()
    assert store.popularity()[10] == 6.0
    log.close()


def _master_of(engine: Engine, key: str) -> int:
    return int(engine.store.client.get_node_from_key(key).port)


def _recover(engine: Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.reconnect() is not None:
        assert time.monotonic() < deadline, f"store never came back: {engine.degraded}"
        time.sleep(0.5)


def _fresh_equal(home: Home, url: str, engine: Engine, users: list[int]) -> None:
    fresh = Engine.open(home, url)
    try:
        for user in users:
            assert [r.item_id for r in engine.recommend(user).items] == \
                [r.item_id for r in fresh.recommend(user).items], user
    finally:
        fresh.close()


@pytest.mark.slow
@pytest.mark.faults
def test_a_master_killed_without_replicas_degrades_and_rebuilds_from_the_log(home):
    cluster = RedisClusterServers(masters=3).start()
    try:
        engine = Engine.open(home, cluster.url)
        users = [*range(1, 31)]
        stream = event_stream(3, 300, users)
        for event in stream[:150]:
            play(engine, event)
        port = _master_of(engine, keys.EPOCH)  # the global slot's master: the worst case
        cluster.kill(port)
        for event in stream[150:]:
            play(engine, event)  # logged; the store is down for some or all of these
        assert engine.degraded is not None
        cluster.restart(port)  # comes back empty (no persistence)
        _recover(engine)
        assert store_matches_log(engine) == []
        _fresh_equal(home, cluster.url, engine, users[:5])
        engine.close()
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.faults
def test_a_master_killed_with_replicas_fails_over_and_loses_nothing(home):
    cluster = RedisClusterServers(masters=3, replicas=1).start()
    try:
        engine = Engine.open(home, cluster.url)
        users = [*range(1, 31)]
        stream = event_stream(4, 300, users)
        for event in stream[:150]:
            play(engine, event)
        port = _master_of(engine, keys.user_key(users[0], "meta"))
        cluster.kill(port)
        cluster.wait_failover(port)
        for event in stream[150:]:
            play(engine, event)
        _recover(engine)
        assert store_matches_log(engine) == []
        assert len(engine.log.events(include_undone=True)) == 300
        _fresh_equal(home, cluster.url, engine, users[:5])
        engine.close()
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.faults
def test_four_processes_two_homes_one_postgres_one_cluster(home, tmp_path, pg_url, redis_cluster):
    """Every acknowledged event is logged exactly once, popularity is exact and every process
    serves each user what a fresh process serves."""
    redis_cluster.flush()
    n = int(os.environ.get("RECSYS_TUI_DIST_EVENTS", "300"))
    homes = [home, copy_home(home, tmp_path / "host-b")]
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    users = ",".join(str(u) for u in range(1, 41))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    procs, outs = [], []
    for n_proc in range(4):
        out = tmp_path / f"w{n_proc}.json"
        outs.append(out)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "recsys_tui.dist_worker", "--home", str(homes[n_proc % 2].root),
             "--redis-url", redis_cluster.url, "--log-url", pg_url, "--users", users, "--n", str(n),
             "--seed", str(n_proc), "--out", str(out), "--barrier", str(barrier), "--procs", "4",
             "--name", str(n_proc)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-500:]
    results = [json.loads(out.read_text()) for out in outs]
    acked = [i for r in results for i in r["acked"]]
    engine = Engine.open(homes[0], redis_cluster.url, log_url=pg_url)
    try:
        logged = Counter(e.id for e in engine.log.iter_all())
        assert len(acked) == len(set(acked)) and all(logged[i] == 1 for i in acked)
        assert sum(len(r["acked"]) + r["refused"] for r in results) == 4 * n
        assert len(logged) == len(acked)  # nothing logged that was not acknowledged
        assert store_matches_log(engine) == []
        for r in results:
            for user, items in r["served"].items():
                assert items == [x.item_id for x in engine.recommend(int(user)).items], user
    finally:
        engine.close()


@pytest.mark.slow
@pytest.mark.faults
def test_redis_killed_with_a_postgresql_log_replays_exactly_once(home, pg_url, redis_server):
    """The outage replay works the same from PostgreSQL: nothing lost, nothing counted twice."""
    engine = Engine.open(home, redis_server.url, log_url=pg_url)
    try:
        stream = event_stream(5, 200, [*range(1, 21)])
        for event in stream[:100]:
            play(engine, event)
        redis_server.kill()
        for event in stream[100:]:
            play(engine, event)
        assert engine.degraded is not None
        redis_server.start()  # back empty: the engine reseeds and replays the whole log
        _recover(engine)
        assert store_matches_log(engine) == []
        assert engine.log.kind == "postgresql" and engine.log.count() == 200
    finally:
        engine.close()


def test_a_cluster_store_is_bound_to_its_log_and_checks_every_masters_policy(redis_cluster, tmp_path):
    """The cluster keeps the single-server guards: another log's store is refused, and an
    ``allkeys-*`` eviction policy on any master is refused at connect."""
    import redis as redis_py

    redis_cluster.flush()
    mine, theirs = EventLog(tmp_path / "a.sqlite3"), EventLog(tmp_path / "b.sqlite3")
    store = FeatureStore.open(redis_cluster.url)
    store.log_id = mine.log_id
    store.catch_up({10: 1.0}, "seed", [], {})
    assert store.apply(mine.append(1, 10, "click"), log=mine) == "applied"
    other = FeatureStore.open(redis_cluster.url)
    other.log_id = theirs.log_id
    with pytest.raises(StoreError, match="another event log"):
        other.apply(theirs.append(1, 10, "click"), log=theirs)
    with pytest.raises(StoreError, match="another event log"):
        other.catch_up({10: 1.0}, "seed", theirs.iter_all(), theirs.last_per_user())
    assert store.popularity()[10] == 2.0 and store.user(1).counts["click"] == 1
    port = redis_cluster.master_ports()[-1]
    admin = redis_py.Redis(host="127.0.0.1", port=port)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    try:
        with pytest.raises(StoreError, match="allkeys-lru"):
            FeatureStore.open(redis_cluster.url).ping()
    finally:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.close()
    mine.close()
    theirs.close()

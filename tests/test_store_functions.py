"""The write as a Redis Function (FCALL) and its EVALSHA fallback (issue 14, the embedded store's
features step): loaded once, reloaded after a flush or a restart, refused functions fall back to
the same body as a script — each event applied exactly once throughout. Real redis-server where a
server matters (an ACL user is how a server without functions is made here)."""

from __future__ import annotations

import fakeredis
import pytest
import redis
from recsys_tui.core import store_pending
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.feature_store import ACL_COMMANDS, FeatureStore
from recsys_tui.core.store_script import FUNCTION, LIBRARY, LIBRARY_CODE, functions_refused
from recsys_tui.faults.verify import store_matches_log

from tests.redis_server import RedisServer

PASSWORD = "app-Password-1"


def seeded(store: FeatureStore, log: EventLog) -> FeatureStore:
    store.log_id = log.log_id
    store.catch_up({10: 5.0, 20: 2.0}, "test-seed", [], {})
    return store


@pytest.fixture(params=["fakeredis", "redis"])
def store(request, log):
    url = request.getfixturevalue("redis_server").url if request.param == "redis" else None
    store = seeded(FeatureStore.open(url), log)
    yield store
    store.close()


def libraries(client: redis.Redis) -> list[str]:
    return sorted(entry[b"library_name"].decode() if isinstance(entry, dict) else entry[1].decode()
                  for entry in client.function_list())


def test_the_write_is_one_fcall_of_the_loaded_library(store, log):
    first = log.append(1, 10, "rating", 4.0)
    assert store.apply(first, log=log) == "applied"
    assert store.writer.command == "FCALL" and store.writer.fallback is None
    assert LIBRARY in libraries(store.client)
    store.client.script_flush()  # no script is involved any more
    second = log.append(1, 20, "click")
    assert store.apply(second, log=log) == "applied"
    assert store.client.script_exists(store.writer.script.sha) == [False]


def test_after_function_flush_the_next_event_lands_exactly_once(store, log):
    first = log.append(1, 10, "rating", 4.0)
    assert store.apply(first, log=log) == "applied"
    store.client.function_flush()  # as after a restart: the server holds no function
    second = log.append(1, 20, "click")
    assert store.apply(second, log=log) == "applied"  # "function not found": loaded and resent
    assert LIBRARY in libraries(store.client)
    assert store.apply(second, log=log) == "already"
    store.client.function_flush()
    assert store.apply(second, log=log) == "already"  # a retry after a flush is still a no-op
    assert store.user(1).counts == {"rating": 1, "click": 1, "view": 0}
    assert store.popularity() == {10: 6.0, 20: 3.0}
    assert store.watermark() == second.id
    assert store.writer.command == "FCALL"


@pytest.mark.redis
def test_a_restarted_server_gets_the_function_again(home, tmp_path):
    server = RedisServer(tmp_path / "r1").start()
    try:
        engine = Engine.open(home, server.url)
        for n in range(3):
            assert engine.record(2, 60 + n, "rating", 4).degraded is None
        server.kill()
        server = RedisServer(tmp_path / "r2", port=server.port).start()  # empty: no keys, no functions
        engine.reconnect()
        result = engine.record(2, 70, "click")
        assert result.degraded is None and result.after.personal
        assert store_matches_log(engine) == []
        assert engine.store.user(2).counts == {"rating": 3, "click": 1, "view": 0}
        assert LIBRARY in libraries(engine.store.client) and engine.store.writer.command == "FCALL"
        engine.close()
    finally:
        server.stop()


def acl_user(server: RedisServer, *denied: str) -> str:
    """A user allowed the store's commands except ``denied``; its URL."""
    admin = redis.Redis.from_url(server.url)
    allowed = [f"+{c}" for c in ACL_COMMANDS if c not in denied]
    admin.execute_command("ACL", "SETUSER", "app", "reset", "on", f">{PASSWORD}", "resetkeys", "~rs:v1:*",
                          "resetchannels", "-@all", *allowed)
    admin.close()
    return f"redis://app:{PASSWORD}@127.0.0.1:{server.port}/0"


@pytest.mark.redis
def test_a_server_refusing_functions_is_written_with_evalsha(home, redis_server, monkeypatch):
    url = acl_user(redis_server, "fcall", "function|load")
    engine = Engine.open(home, url)
    assert engine.degraded is None
    statuses: list[str] = []
    finish = store_pending.finish

    def recording_finish(pending):
        statuses.append(finish(pending))
        return statuses[-1]

    monkeypatch.setattr(store_pending, "finish", recording_finish)
    for n in range(4):
        result = engine.record(3, 50 + n, "rating", 5)
        assert result.degraded is None and result.after.personal
    assert engine.store.writer.command == "EVALSHA"
    assert "fcall" in (engine.store.writer.fallback or "").lower()
    assert statuses == ["applied"] * 4  # the first overlapped FCALL was refused and resent via apply
    assert store_matches_log(engine) == []
    assert engine.store.user(3).counts["rating"] == 4
    assert libraries(redis.Redis.from_url(redis_server.url)) == []
    engine.close()


@pytest.mark.redis
def test_fcall_without_function_load_uses_a_library_loaded_by_an_admin(redis_server, log):
    url = acl_user(redis_server, "function|load")
    store = seeded(FeatureStore.open(url), log)
    first = log.append(4, 10, "rating", 3.0)
    assert store.apply(first, log=log) == "applied"  # cannot load it: EVALSHA
    assert store.writer.command == "EVALSHA" and "function|load" in (store.writer.fallback or "")
    store.close()
    admin = redis.Redis.from_url(redis_server.url)
    admin.function_load(LIBRARY_CODE)
    store = seeded(FeatureStore.open(url), log)
    second = log.append(4, 20, "view")
    assert store.apply(second, log=log) == "applied"
    assert store.writer.command == "FCALL"
    assert store.apply(second, log=log) == "already"
    assert store.user(4).counts == {"rating": 1, "click": 0, "view": 1}
    store.close()
    admin.close()


def test_a_server_older_than_redis_7_is_written_with_evalsha(log):
    store = seeded(FeatureStore(fakeredis.FakeRedis(version=6), "fakeredis"), log)
    events = [log.append(5, 10, "rating", 4.0), log.append(5, 20, "click")]
    assert [store.apply(e, log=log) for e in events] == ["applied", "applied"]
    assert store.apply(events[-1], log=log) == "already"
    assert store.writer.command == "EVALSHA" and "unknown command" in (store.writer.fallback or "")
    assert store.user(5).counts == {"rating": 1, "click": 1, "view": 0}


def test_only_a_refusal_of_fcall_itself_falls_back():
    assert functions_refused(redis.ResponseError("unknown command 'FCALL', with args beginning with: "))
    assert functions_refused(redis.exceptions.NoPermissionError(
        "this user has no permissions to run the 'fcall' command"))
    inside = redis.ResponseError("The user executing the script can't run this command or subcommand "
                                 f"script: {FUNCTION}, on @user_function:32.")
    assert not functions_refused(inside)  # a command refused inside the function is the store's error
    assert not functions_refused(redis.ResponseError("Function not found"))

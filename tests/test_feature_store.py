"""The feature store, run against fakeredis and a real redis-server (``store_url``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from recsys_tui.core import keys
from recsys_tui.core.feature_store import RECENT_CAP, FeatureStore, StoreError

from tests.redis_server import free_port

PASSWORD = "hunter2-Very-Secret"
USER_KEY = re.compile(r"^rs:v1:\{u:([1-9]\d*)\}:(meta|recent|emb)$")
GLOBAL_KEYS = {"rs:v1:{g}:pop", "rs:v1:{g}:wm", "rs:v1:{g}:epoch", "rs:v1:{g}:users"}


@pytest.fixture
def store(store_url):
    """A seeded, empty store (the epoch exists, popularity starts from two items)."""
    store = FeatureStore.open(store_url)
    store.ping()
    store.catch_up({10: 5.0, 20: 2.0}, "test-seed", [], {})
    yield store
    store.client.close()


def test_store_kind_matches_the_url(store, store_url):
    assert store.kind == ("fakeredis" if not store_url else
                          "redis-cluster" if store_url.startswith("redis+cluster") else "redis")
    assert store.is_seeded()


def test_unseeded_store_refuses_writes(store_url, log):
    store = FeatureStore.open(store_url)
    event = log.append(1, 10, "rating", 5.0)
    assert store.apply(event) == "unseeded"
    assert store.all_keys() == []


def test_apply_is_exactly_once(store, log):
    event = log.append(1, 10, "rating", 5.0)
    emb = np.linspace(-1, 1, 64, dtype=np.float32)
    assert store.apply(event, emb, "v0001") == "applied"
    assert store.apply(event, emb, "v0001") == "already"  # a retry after a lost reply
    assert store.apply(event, emb, "v0001", log=log) == "already"
    feats = store.user(1)
    assert feats.counts == {"rating": 1, "click": 0, "view": 0}
    assert feats.last_event_id == event.id
    assert len(feats.recent) == 1
    assert store.popularity()[10] == 6.0
    assert store.watermark() == event.id


def test_apply_with_log_fills_the_users_gap_in_order(store, log):
    """Events the store missed (e.g. written while Redis was down) land once, before the new one."""
    missed = [log.append(2, 30 + n, "click") for n in range(3)]
    newest = log.append(2, 40, "rating", 4.0)
    assert store.apply(newest, log=log) == "applied"
    feats = store.user(2)
    assert feats.counts == {"rating": 1, "click": 3, "view": 0}
    assert [r[0] for r in feats.recent] == [newest.id] + [e.id for e in reversed(missed)]
    for event in [*missed, newest]:
        assert store.apply(event, log=log) == "already"
    assert store.user(2).counts["click"] == 3


def test_counts_recent_cap_and_popularity(store, log):
    n = RECENT_CAP + 7
    for i in range(n):
        kind = ("rating", "click", "view")[i % 3]
        event = log.append(3, 100 + i, kind, 4.0 if kind == "rating" else None)
        assert store.apply(event) == "applied"
    feats = store.user(3)
    assert sum(feats.counts.values()) == n
    assert feats.counts == {"rating": 19, "click": 19, "view": 19}
    assert len(feats.recent) == RECENT_CAP
    newest = log.events(3)[-1]
    assert feats.recent[0] == (newest.id, newest.item_id, newest.kind, newest.rating)
    ids = [r[0] for r in feats.recent]
    assert ids == sorted(ids, reverse=True)
    assert store.popular(2) == [(10, 5.0), (20, 2.0)]
    assert store.popularity()[100] == 1.0


def test_embedding_is_float32_bytes_tagged_with_the_model_version(store, log):
    emb = np.arange(64, dtype=np.float32) / 7
    store.apply(log.append(4, 10, "rating", 5.0), emb, "v0003-20260101T000000")
    raw = store.client.get(keys.user_key(4, "emb"))
    assert raw == emb.tobytes() and len(raw) == 64 * 4
    feats = store.user(4)
    np.testing.assert_array_equal(feats.embedding, emb)
    assert feats.embedding.dtype == np.float32
    assert feats.embedding_version == "v0003-20260101T000000"
    store.set_embedding(4, emb * 2, "v0004-20260102T000000")
    feats = store.user(4)
    np.testing.assert_array_equal(feats.embedding, emb * 2)
    assert feats.embedding_version == "v0004-20260102T000000"


def test_undo_reverses_counts_popularity_and_recent(store, log):
    kept = log.append(5, 10, "rating", 3.0)
    gone = log.append(5, 20, "click")
    marker = log.append(5, 20, "undo", undoes=gone.id)
    for event in (kept, gone):
        store.apply(event)
    assert store.apply(marker, undone=gone) == "applied"
    feats = store.user(5)
    assert feats.counts == {"rating": 1, "click": 0, "view": 0}
    assert [r[0] for r in feats.recent] == [kept.id]
    assert store.popularity()[20] == 2.0
    assert store.apply(marker, undone=gone) == "already"
    assert store.popularity()[20] == 2.0


def test_key_schema_holds(store, log):
    for user in (1, 42, 943, 2**31 - 1):
        for kind in ("rating", "click", "view"):
            event = log.append(user, 7, kind, 2.0 if kind == "rating" else None)
            store.apply(event, np.ones(8, np.float32), "v1")
    found = sorted(k.decode() for k in store.client.scan_iter(match="*", count=100))
    assert found == store.all_keys()
    assert all(k.startswith("rs:v1:") for k in found), found
    global_keys = GLOBAL_KEYS | ({keys.SEEN} if store.kind == "redis-cluster" else set())
    per_user = [k for k in found if k not in global_keys]
    assert set(found) - set(per_user) == global_keys
    tagged = {(int(USER_KEY.match(k).group(1)), USER_KEY.match(k).group(2)) for k in per_user
              if USER_KEY.match(k)}
    assert len(tagged) == len(per_user), per_user
    assert tagged == {(u, f) for u in (1, 42, 943, 2**31 - 1) for f in ("meta", "recent", "emb")}


@pytest.mark.parametrize("bad", [-1, 0, 2**31, 2**64, "42", "1}:x", 4.0, True, None])
def test_ids_are_validated_before_any_key_is_built(store, bad):
    with pytest.raises(keys.InvalidId):
        store.user(bad)  # type: ignore[arg-type]
    with pytest.raises(keys.InvalidId):
        store.set_embedding(bad, np.zeros(4, np.float32), "v")  # type: ignore[arg-type]
    assert not any("{u:" in k for k in store.all_keys())


@pytest.mark.parametrize("url", [
    f"app:{PASSWORD}@localhost:6379", f":{PASSWORD}@localhost:6379/0", f"redis:{PASSWORD}@x",
    f"http://:{PASSWORD}@127.0.0.1:6379/0", "redis//127.0.0.1",
    f"redis://:{PASSWORD}@127.0.0.1:notaport/0", f"redis://:{PASSWORD}@127.0.0.1:99999/0",
])
def test_malformed_url_is_one_redacted_line(url):
    with pytest.raises(StoreError) as info:
        FeatureStore.open(url).ping()
    message = str(info.value)
    assert "Redis URL" in message or "unreachable" in message
    assert PASSWORD not in message and "\n" not in message


@pytest.mark.parametrize("userinfo", ["", f":{PASSWORD}@", f"app:{PASSWORD}@"])
def test_unreachable_redis_is_one_redacted_line(userinfo):
    port = free_port()  # nothing listens here
    store = FeatureStore.open(f"redis://{userinfo}127.0.0.1:{port}/0?password={PASSWORD}x"
                              if userinfo == "" else f"redis://{userinfo}127.0.0.1:{port}/0")
    with pytest.raises(StoreError) as info:
        store.ping()
    message = str(info.value)
    assert "unreachable" in message and str(port) in message
    assert PASSWORD not in message and "\n" not in message
    assert PASSWORD not in store.url
    with pytest.raises(StoreError):
        store.user(1)

"""The feature store on a Redis Cluster (``redis+cluster://`` / ``rediss+cluster://``).

Placement. A user's keys share the hash tag ``{u:ID}``, so everything written for one user lives
in one slot and changes in one atomic script. The global keys (popularity, watermark, epoch and
the ``seen`` bitmap) share the tag ``{g}``: one slot, one master. Popularity is deliberately NOT
sharded: it is one sorted set of at most a few thousand items, read whole for every cold-start
list (a sharded set would need a scatter-gather read on the serving path), and it takes one
ZINCRBY per event, far below what one Redis master serves.

Exactly once across two slots. A cluster script cannot touch two slots, so an event is applied
in two idempotent steps, global first:

1. ``{g}``: SETBIT seen[event id]; only if the bit was 0, ZINCRBY popularity and raise the
   watermark. Replaying the step never double-counts.
2. ``{u:ID}``: if the user's ``last_event_id`` is still what the caller read, apply counts, recent
   list, embedding and the new ``last_event_id``; otherwise the caller re-reads and retries.

A crash between the steps leaves the user behind; the retry (or a catch-up) repeats step 1 as a
no-op and does step 2. A catch-up re-runs step 1 for every logged event, so a global slot that
lost writes (a master killed before its replica caught up) is repaired as well.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, unquote

import numpy as np
import redis
from recsys_tui.core import keys
from recsys_tui.core.event_log import Event
from recsys_tui.core.feature_store import (
    CONNECT_TIMEOUT_S,
    RECENT_CAP,
    REDIS_ERRORS,
    SOCKET_TIMEOUT_S,
    WATCH_RETRIES,
    FeatureStore,
    StoreError,
    _encode_recent,
    redact,
)
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
BATCH = 500
_TLS_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")

_GLOBAL_STEP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local applied = 0
for i = 1, #ARGV, 3 do
    if redis.call('SETBIT', KEYS[4], ARGV[i], 1) == 0 then
        if ARGV[i + 2] ~= '0' then redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i + 1]) end
        redis.call('ZADD', KEYS[3], 'GT', ARGV[i], 'applied')
        applied = applied + 1
    end
end
return applied
"""

_USER_STEP = """
local current = tonumber(redis.call('HGET', KEYS[1], 'last_event_id') or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
local cap = tonumber(ARGV[6])
for i = 7, #ARGV, 4 do
    if ARGV[i] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
    if ARGV[i + 3] ~= '' then redis.call('LREM', KEYS[2], 1, ARGV[i + 3]) end
    if ARGV[i + 2] ~= '' then
        redis.call('LPUSH', KEYS[2], ARGV[i + 2])
        redis.call('LTRIM', KEYS[2], 0, cap - 1)
    end
end
redis.call('HSET', KEYS[1], 'last_event_id', ARGV[2], 'updated', ARGV[3])
if ARGV[4] ~= '' then
    redis.call('SET', KEYS[3], ARGV[4])
    redis.call('HSET', KEYS[1], 'emb_version', ARGV[5])
end
return 1
"""

_SEED = """
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
for i = 3, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i]) end
redis.call('HSET', KEYS[1], 'seed', ARGV[1], 'created', ARGV[2])
return 1
"""


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0].lower() in CLUSTER_SCHEMES  # type: ignore[union-attr]


def parse_cluster_url(url: str) -> dict:
    """``redis+cluster://[user:pass@]host:port[,host:port...][/0][?ssl_ca_certs=...]`` → client kwargs."""
    scheme, _, rest = url.partition("://")
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    creds, _, hosts = netloc.rpartition("@")
    if path not in ("", "0"):
        raise StoreError(f"malformed Redis Cluster URL {redact(url)!r}: a cluster has only database 0")
    nodes = []
    for part in hosts.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StoreError(f"malformed Redis Cluster URL {redact(url)!r}: "
                             "nodes are host:port[,host:port...]")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    username, _, password = creds.partition(":") if creds else ("", "", "")
    options: dict = {"startup_nodes": nodes, "ssl": scheme.lower() == "rediss+cluster"}
    if username:
        options["username"] = unquote(username)
    if password:
        options["password"] = unquote(password)
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "password":
            options["password"] = value
        elif key in _TLS_PARAMS and options["ssl"]:
            options[key] = value.lower() not in ("0", "false", "no") if key == "ssl_check_hostname" else value
        else:
            raise StoreError(f"Redis Cluster URL {redact(url)!r}: unsupported option {key!r}")
    return options


class ClusterFeatureStore(FeatureStore):
    """``FeatureStore`` over ``RedisCluster``: same keys and reads, two-step idempotent writes."""

    def __init__(self, url: str) -> None:
        self._options = parse_cluster_url(url)
        self._client: RedisCluster | None = None
        super().__init__(None, "redis-cluster", url)  # type: ignore[arg-type]

    @property
    def client(self) -> RedisCluster:  # type: ignore[override]
        """Connect on first use (the constructor of ``RedisCluster`` already talks to the nodes)."""
        if self._client is None:
            try:
                self._client = RedisCluster(
                    **self._options, socket_timeout=SOCKET_TIMEOUT_S,
                    socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0),
                    require_full_coverage=True)
            except redis.exceptions.RedisClusterException as exc:
                raise redis.ConnectionError(str(exc).split("\n")[0]) from None
            self._global = self._client.register_script(_GLOBAL_STEP)
            self._user = self._client.register_script(_USER_STEP)
            self._seed = self._client.register_script(_SEED)
        return self._client

    @client.setter
    def client(self, value: object) -> None:
        if value is not None:
            raise TypeError("a cluster store builds its own client")

    @staticmethod
    def _global_keys() -> list[str]:
        return [keys.EPOCH, keys.POPULARITY, keys.WATERMARK, keys.SEEN]

    def _global_step(self, events: Iterable[Event], undone: dict[int, Event]) -> bool:
        """Step 1 for ``events`` (in batches); False when the store is unseeded."""
        batch: list = []

        def flush() -> bool:
            if batch and self._global(keys=self._global_keys(), args=batch) == -1:
                return False
            batch.clear()
            return True

        for event in events:
            if event.kind == "undo":
                gone = undone.get(event.undoes) if event.undoes else None
                batch += [event.id, gone.item_id if gone else 0, -1 if gone else 0]
            else:
                batch += [event.id, event.item_id, 1]
            if len(batch) >= 3 * BATCH and not flush():
                return False
        return flush()

    def _user_step(self, user_id: int, expected: int, events: list[Event], undone: dict[int, Event],
                   embedding: np.ndarray | None, version: str) -> bool:
        last = events[-1]
        emb = b"" if embedding is None else np.asarray(embedding, np.float32).tobytes()
        args: list = [expected, last.id, last.ts, emb, version if embedding is not None else "", RECENT_CAP]
        for event in events:
            if event.kind == "undo":
                gone = undone.get(event.undoes) if event.undoes else None
                args += [f"n_{gone.kind}", -1, "", _encode_recent(gone)] if gone else ["", 0, "", ""]
            else:
                args += [f"n_{event.kind}", 1, _encode_recent(event), ""]
        meta, recent, vector = (keys.user_key(user_id, f) for f in ("meta", "recent", "emb"))
        return bool(self._user(keys=[meta, recent, vector], args=args))

    def _apply_user(self, user_id: int, upto_id: int,
                    pending: Callable[[int], tuple[list[Event], dict[int, Event]]],
                    embedding: np.ndarray | None, version: str) -> str:
        meta = keys.user_key(user_id, "meta")
        for _ in range(WATCH_RETRIES):
            applied = int(self.client.hget(meta, "last_event_id") or 0)
            if applied >= upto_id:
                return "already" if self.client.exists(keys.EPOCH) else "unseeded"
            events, undone = pending(applied)
            events = [e for e in events if applied < e.id <= upto_id]
            if not events:
                return "already"
            if not self._global_step(events, undone):
                return "unseeded"
            with_vector = embedding if events[-1].id == upto_id else None
            if self._user_step(user_id, applied, events, undone, with_vector, version):
                return "applied"
        raise StoreError(f"feature store {self.url}: user {user_id} is contended, write not applied")

    def set_embedding(self, user_id: int, embedding: np.ndarray, version: str) -> None:
        try:
            meta = keys.user_key(user_id, "meta")
            self.client.set(keys.user_key(user_id, "emb"), np.asarray(embedding, np.float32).tobytes())
            self.client.hset(meta, "emb_version", version)
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None

    def all_keys(self) -> list[str]:
        try:
            found: set[str] = set()
            for node in self.client.get_primaries():
                found.update(k.decode() for k in self.client.scan_iter(match="*", count=1000,
                                                                         target_nodes=node))
            return sorted(found)
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None

    def catch_up(self, seed_popularity: dict[int, float], seed_tag: str,
                 events: Iterable[Event], last_per_user: dict[int, int]) -> set[int]:
        """Seed an empty global slot, repeat step 1 for every logged event (a no-op for those
        already counted), then bring every user whose slot is behind the log up to date."""
        import time

        try:
            with self._rebuild_lock():
                if not self.client.exists(keys.EPOCH):
                    flat: list = [seed_tag, int(time.time())]
                    for item, count in seed_popularity.items():
                        flat += [item, count]
                    self._seed(keys=self._global_keys(), args=flat)
                everything = list(events)
                by_id = {e.id: e for e in everything}
                if not self._global_step(everything, by_id):
                    raise StoreError(f"feature store {self.url} was emptied during catch-up")
                users = sorted(last_per_user)
                applied = {u: int(self.client.hget(keys.user_key(u, "meta"), "last_event_id") or 0)
                           for u in users}
                behind = {u for u in users if applied[u] < last_per_user[u]}
                per_user: dict[int, list[Event]] = {u: [] for u in behind}
                for event in everything:
                    if event.user_id in per_user:
                        per_user[event.user_id].append(event)
                for user in sorted(behind):
                    mine = per_user[user]

                    def pending(done: int, mine=mine) -> tuple[list[Event], dict[int, Event]]:
                        return [e for e in mine if e.id > done], by_id

                    if self._apply_user(user, last_per_user[user], pending, None, "") == "unseeded":
                        raise StoreError(f"feature store {self.url} was emptied during catch-up")
                return behind
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        except redis.RedisError as exc:
            raise StoreError(f"feature store {self.url} refused the catch-up: {str(exc)[:160]}") from None

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                self._client.close()

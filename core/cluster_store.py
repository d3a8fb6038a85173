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
   list, embedding and the new ``last_event_id``; otherwise the caller re-reads and retries. A
   user whose meta hash vanished (evicted) while the recent list or vector remain reads as
   ``last_event_id`` 0: the caller sends the user's whole history from the log, and the step
   clears the stale recent list first, so that one user is rebuilt exactly, in place.

A crash between the steps leaves the user behind; the retry (or a catch-up) repeats step 1 as a
no-op and does step 2. A catch-up re-runs step 1 for every logged event, so a global slot that
lost writes (a master killed before its replica caught up) is repaired as well.

Scripts, not functions. Both steps (and the seed) are sent with EVALSHA, which redis-py reloads
on NOSCRIPT; the single-node store calls its write as a Redis Function (``store_script``). On a
cluster a function library would have to be loaded on every primary, and again on every node that
is added or promoted, while a real Redis caches a script's compiled form by its sha, so FCALL
would not make a step cheaper there (it pays on fakeredis, which recompiles every EVALSHA).

What is the same as on one server: the key schema, the reads, the store bound to its event log
(step 1 refuses a store whose epoch names another log), the global keys checked on every write
(a missing popularity set or user registry is ``lost``: the epoch is dropped and the next catch-up
rebuilds), the eviction-policy check (on every master) and the per-call deadline (every node's
sockets). What differs: a write takes two round trips instead of one, and a
user's lost meta hash is repaired in place for that user (step 2 above) instead of dropping the
epoch and rebuilding the whole store (the user registry lives in another slot than the user).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

import numpy as np
import redis
from recsys_tui.core import keys
from recsys_tui.core.event_log import Event, EventLog
from recsys_tui.core.feature_store import (
    RECENT_CAP,
    REDIS_ERRORS,
    FeatureStore,
    _encode_recent,
)
from recsys_tui.core.store_connection import (
    CLUSTER_SCHEMES,
    CONNECT_TIMEOUT_S,
    SOCKET_TIMEOUT_S,
    StoreError,
    StoreUrlError,
    deadline,
    deadline_connection,
    redact,
)
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import AbstractConnection
from redis.crc import key_slot
from redis.retry import Retry

BATCH = 500
ROUTES_KEPT = 100_000
"""Keys whose slot the hot path remembers (one per user written; past this the memo starts over)."""
CAS_RETRIES = 100
"""Re-reads of a user's ``last_event_id`` when another process moved it between the two steps."""
_TLS_PARAMS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")

_GLOBAL_STEP = """
local owner = redis.call('HGET', KEYS[1], 'log')
if not owner then return {'unseeded', '0'} end
if owner ~= ARGV[1] then return {'foreign', owner} end
if redis.call('EXISTS', KEYS[2], KEYS[5]) < 2 then return {'lost', 'popularity or user registry'} end
local applied = 0
for i = 2, #ARGV, 4 do
    if redis.call('SETBIT', KEYS[4], ARGV[i], 1) == 0 then
        if ARGV[i + 2] ~= '0' then redis.call('ZINCRBY', KEYS[2], ARGV[i + 2], ARGV[i + 1]) end
        redis.call('ZADD', KEYS[3], 'GT', ARGV[i], 'applied')
        redis.call('SADD', KEYS[5], ARGV[i + 3])
        applied = applied + 1
    end
end
return {'applied', tostring(applied)}
"""

_USER_STEP = """
local stored = redis.call('HGET', KEYS[1], 'last_event_id')
if tonumber(stored or '0') ~= tonumber(ARGV[1]) then return 0 end
local result = 1
if not stored and redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then
    redis.call('DEL', KEYS[2])
    result = 2
end
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
return result
"""

_SEED = """
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
for i = 4, #ARGV, 2 do redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i]) end
redis.call('SADD', KEYS[5], '0')
redis.call('HSET', KEYS[1], 'seed', ARGV[1], 'created', ARGV[2], 'log', ARGV[3])
return 1
"""


def pack(*args: object) -> bytes:
    """One Redis command in RESP, as one buffer (bytes, str, int and float arguments, encoded as
    redis-py's encoder does: UTF-8, ``%d``, ``repr``)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int | np.integer) and not isinstance(arg, bool):
            data = b"%d" % int(arg)
        elif isinstance(arg, float | np.floating):
            data = repr(float(arg)).encode()
        else:
            raise redis.DataError(f"cannot send a {type(arg).__name__} to Redis")
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


_MISS = object()


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0].lower() in CLUSTER_SCHEMES  # type: ignore[union-attr]


def parse_cluster_url(url: str) -> dict:
    """``redis+cluster://[user:pass@]host:port[,host:port...][/0][?ssl_ca_certs=...]`` → client kwargs
    (a malformed URL is a usage error, ``StoreUrlError``)."""
    scheme, _, rest = url.partition("://")
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    creds, _, hosts = netloc.rpartition("@")
    if path not in ("", "0"):
        raise StoreUrlError(f"malformed Redis Cluster URL {redact(url)!r}: a cluster has only database 0")
    nodes = []
    for part in hosts.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StoreUrlError(f"malformed Redis Cluster URL {redact(url)!r}: "
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
            raise StoreUrlError(f"Redis Cluster URL {redact(url)!r}: unsupported option {key!r}")
    return options


def _client_options(options: dict) -> dict:
    """``RedisCluster`` arguments whose node connections honour the store's per-call deadline.

    Given a ``url``, redis-py builds each node's pool from these arguments as they are, so the
    deadline-aware connection class (plain or TLS) and the ``ssl_*`` options reach every node."""
    out = {k: v for k, v in options.items() if k != "ssl"}
    first = options["startup_nodes"][0]
    out["url"] = f"redis://{first.host}:{first.port}"
    out["connection_class"] = deadline_connection("rediss" if options["ssl"] else "redis")
    return out


class ClusterFeatureStore(FeatureStore):
    """``FeatureStore`` over ``RedisCluster``: same keys and reads, two-step idempotent writes."""

    def __init__(self, url: str) -> None:
        self._options = parse_cluster_url(url)
        self._client: RedisCluster | None = None
        super().__init__(None, "redis-cluster", url)  # type: ignore[arg-type]
        self._policy_checked = False
        self._slots: dict[str, int] = {}  # key → hash slot (a pure function of the key)
        self._owner: dict[int, AbstractConnection] = {}  # slot → the hot connection to its master
        self._hot: dict[str, AbstractConnection] = {}  # master "host:port" → its hot connection
        self.unread: set[int] = set()
        """The hot connections (``id``; kept alive by ``_hot``) with a reply not read yet."""

    @property
    def client(self) -> RedisCluster:  # type: ignore[override]
        """Connect on first use (the constructor of ``RedisCluster`` already talks to the nodes)."""
        if self._client is None:
            try:
                with deadline(CONNECT_TIMEOUT_S * 4):
                    self._client = RedisCluster(
                        **_client_options(self._options), socket_timeout=SOCKET_TIMEOUT_S,
                        socket_connect_timeout=CONNECT_TIMEOUT_S, retry=Retry(NoBackoff(), 0),
                        require_full_coverage=True)
            except redis.exceptions.RedisClusterException as exc:
                raise redis.ConnectionError(str(exc).split("\n")[0]) from None
            self._global = self._client.register_script(_GLOBAL_STEP)
            self._user = self._client.register_script(_USER_STEP)
            self._seed_script = self._client.register_script(_SEED)
        return self._client

    @client.setter
    def client(self, value: object) -> None:
        if value is not None:
            raise TypeError("a cluster store builds its own client")

    # -- the hot path's own connections (core.cluster_pending) --------------------------------

    def hot_connection(self, key: str) -> AbstractConnection:
        """This store's own connection to the master serving ``key``'s slot: one per master, made
        with that node's pool options (deadline sockets, TLS, credentials) but outside the pool, so
        the hot path sends a script and later reads its reply with no pool checkout, no
        readiness poll and no router. The slot → master map is the client's, remembered here per
        slot until ``forget_routes`` (called whenever a hot write falls back to ``apply``, whose
        router follows a MOVED/ASK and refreshes the client's map). Used by one event at a time
        (the engine's lock); ``cluster_pending`` tracks whether a reply is still unread."""
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) >= ROUTES_KEPT:
                self._slots.clear()
            slot = self._slots[key] = key_slot(key.encode())
        conn = self._owner.get(slot)
        if conn is None:
            client = self.client  # connects on first use
            owners = client.nodes_manager.slots_cache.get(slot)
            if not owners:
                raise redis.exceptions.SlotNotCoveredError(f"slot {slot} is not covered by the cluster")
            node = owners[0]
            conn = self._hot.get(node.name)
            if conn is None:
                pool = client.get_redis_connection(node).connection_pool
                conn = self._hot[node.name] = pool.connection_class(**pool.connection_kwargs)
            self._owner[slot] = conn
        return conn

    def forget_routes(self) -> None:
        """Read the slot → master map from the client again at the next hot write."""
        self._owner.clear()

    def _hot_read(self, route: str, *command: object) -> Any:
        """``command`` sent and its reply read on the hot connection to ``route``'s master, or
        ``_MISS`` when that connection has a write in flight or anything goes wrong (then the
        caller asks the client's router, which follows MOVED/ASK and reports a dead node)."""
        try:
            conn = self.hot_connection(route)
        except (*REDIS_ERRORS, redis.RedisError):
            return _MISS
        if id(conn) in self.unread:
            return _MISS
        self.unread.add(id(conn))
        try:
            conn.send_packed_command([pack(*command)], check_health=False)
            return conn.read_response()
        except REDIS_ERRORS:
            with contextlib.suppress(*REDIS_ERRORS):
                conn.disconnect()  # it may hold half a reply
            self.forget_routes()
        except redis.RedisError:  # MOVED, ASK…: the router follows it and refreshes the map
            self.forget_routes()
        finally:
            self.unread.discard(id(conn))
        return _MISS

    def last_event_id(self, user_id: int) -> int:
        """The user's store watermark (the app reads it before each event and on its poll timer):
        one HGET on the hot connection to the user's master, or through the router as before."""
        meta = keys.user_key(user_id, "meta")
        with self._guard("a read"):
            raw = self._hot_read(meta, "HGET", meta, "last_event_id")
            if raw is _MISS:
                raw = self.client.hget(meta, "last_event_id")
        return int(raw) if raw else 0

    def _eviction_policies(self) -> list[str | None]:
        """Every master's ``maxmemory-policy`` (any of them may hold a user's keys)."""
        return [self.client.get_redis_connection(node).config_get("maxmemory-policy").get("maxmemory-policy")
                for node in self.client.get_primaries()]

    @staticmethod
    def _global_keys() -> list[str]:
        return [keys.EPOCH, keys.POPULARITY, keys.WATERMARK, keys.SEEN, keys.USERS]

    def _global_step(self, events: Iterable[Event], undone: dict[int, Event]) -> tuple[str, str]:
        """Step 1 for ``events`` (in batches of ``BATCH``, each under its own deadline):
        ``applied`` or the first refusal (``unseeded``, ``foreign``, ``lost``) with its detail."""
        batch: list = []

        def flush() -> tuple[str, str]:
            reply: tuple[str, str] = ("applied", "0")
            if batch:
                with deadline():
                    raw = self._global(keys=self._global_keys(), args=[self.log_id, *batch])
                reply = (raw[0].decode(), raw[1].decode())
            batch.clear()
            return reply

        for event in events:
            if event.kind == "undo":
                gone = undone.get(event.undoes) if event.undoes else None
                batch += [event.id, gone.item_id if gone else 0, -1 if gone else 0, event.user_id]
            else:
                batch += [event.id, event.item_id, 1, event.user_id]
            if len(batch) >= 4 * BATCH and (reply := flush())[0] != "applied":
                return reply
        return flush()

    def _user_step(self, user_id: int, expected: int, events: list[Event], undone: dict[int, Event],
                   embedding: np.ndarray | None, version: str) -> int:
        """Step 2: 0 when the user's ``last_event_id`` moved (re-read and retry), 1 when applied,
        2 when applied over a lost meta hash (its recent list is rebuilt from ``events``)."""
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
        with deadline():
            return int(self._user(keys=[meta, recent, vector], args=args))

    def _apply_user(self, user_id: int, upto_id: int,
                    pending: Callable[[int], tuple[list[Event], dict[int, Event]]],
                    embedding: np.ndarray | None, version: str) -> tuple[str, str]:
        """Apply the user's events above the stored ``last_event_id`` up to ``upto_id``: step 1
        (global, idempotent per event id), then step 2 guarded by the ``last_event_id`` read."""
        meta = keys.user_key(user_id, "meta")
        for _ in range(CAS_RETRIES):
            with deadline():
                applied = int(self.client.hget(meta, "last_event_id") or 0)
            if applied >= upto_id:  # nothing to write; still answer for this log only
                with deadline():
                    owner = self.client.hget(keys.EPOCH, "log")
                if owner is None:
                    return "unseeded", "0"
                if owner.decode() != self.log_id:
                    return "foreign", owner.decode()
                return "already", str(applied)
            events, undone = pending(applied)
            events = [e for e in events if applied < e.id <= upto_id]
            if not events:
                return "already", str(applied)
            status, detail = self._global_step(events, undone)
            if status != "applied":
                return status, detail
            with_vector = embedding if events[-1].id == upto_id else None
            done = self._user_step(user_id, applied, events, undone, with_vector, version)
            if done == 2:
                self.notes.append(f"user {user_id} meta missing (evicted or deleted): rebuilt from the log")
            if done:
                return "applied", str(events[-1].id)
        return "gap", str(applied)

    def apply(self, event: Event, embedding: np.ndarray | None = None, version: str = "",
              undone: Event | None = None, log: EventLog | None = None) -> str:
        """Apply one logged event exactly once (two round trips, see the module doc); with ``log``
        every logged event of the user the store lacks up to ``event`` goes first, in id order.
        Returns ``applied``, ``already``, ``unseeded`` or ``lost`` like ``FeatureStore.apply``."""
        def pending(applied: int) -> tuple[list[Event], dict[int, Event]]:
            if log is not None:
                return log.backlog(event.user_id, applied, event.id)
            return [event], ({undone.id: undone} if undone is not None else {})

        with self._guard("a write", None):
            for attempt in (0, 1):
                try:
                    status, detail = self._apply_user(event.user_id, event.id, pending, embedding, version)
                    break
                except REDIS_ERRORS:
                    if attempt:
                        raise
            if status == "foreign":
                raise self._refuse_foreign(detail)
            if status == "lost":
                self.notes.append(f"{detail} missing (evicted or deleted): rebuilt from the log")
                with deadline():
                    self.client.delete(keys.EPOCH)
            if status == "gap":
                raise StoreError(f"feature store {self.url}: user {event.user_id} is contended, "
                                 "write not applied (the log keeps it; caught up later)")
        return status

    def set_embedding(self, user_id: int, embedding: np.ndarray, version: str) -> None:
        with self._guard("a write"):
            self.client.set(keys.user_key(user_id, "emb"), np.asarray(embedding, np.float32).tobytes())
            self.client.hset(keys.user_key(user_id, "meta"), "emb_version", version)

    def all_keys(self) -> list[str]:
        with self._guard("a scan", None):
            found: set[str] = set()
            for node in self.client.get_primaries():
                found.update(k.decode() for k in self.client.scan_iter(match="*", count=1000,
                                                                         target_nodes=node))
            return sorted(found)

    def _seed_global(self, seed_popularity: dict[int, float], seed_tag: str) -> None:
        """Make the global slot valid for this log: (re)seed it when empty or incomplete; refuse
        another log's store. Users' slots are kept: their events are re-counted by step 1."""
        with deadline():
            owner = self.client.hget(keys.EPOCH, "log")
            complete = self.client.exists(keys.POPULARITY, keys.USERS) == 2
        if owner is not None and self.log_id and owner.decode() not in ("", self.log_id):
            raise self._refuse_foreign(owner.decode())
        if owner is not None and complete:
            return
        if owner is not None:
            self.notes.append("popularity or user registry missing (evicted or deleted): rebuilt "
                              "from the log")
        flat: list = [seed_tag, int(time.time()), self.log_id]
        for item, count in seed_popularity.items():
            flat += [item, count]
        with deadline():
            self._seed_script(keys=self._global_keys(), args=flat)

    def catch_up(self, seed_popularity: dict[int, float], seed_tag: str,
                 events: Iterable[Event], last_per_user: dict[int, int]) -> set[int]:
        """Seed an empty global slot, repeat step 1 for every logged event (a no-op for those
        already counted), then bring every user whose slot is behind the log up to date. Every
        round trip has its own deadline."""
        with self._guard("the catch-up", None), self._rebuild_lock():
            self._seed_global(seed_popularity, seed_tag)
            everything = list(events)
            by_id = {e.id: e for e in everything}
            status, detail = self._global_step(everything, by_id)
            if status == "foreign":
                raise self._refuse_foreign(detail)
            if status != "applied":
                raise StoreError(f"feature store {self.url} changed during catch-up ({status}); "
                                 "retried later")
            users = sorted(last_per_user)
            applied: dict[int, int] = {}
            for user in users:
                with deadline():
                    applied[user] = int(self.client.hget(keys.user_key(user, "meta"), "last_event_id") or 0)
            behind = {u for u in users if applied[u] < last_per_user[u]}
            per_user: dict[int, list[Event]] = {u: [] for u in behind}
            for event in everything:
                if event.user_id in per_user:
                    per_user[event.user_id].append(event)
            for user in sorted(behind):
                mine = per_user[user]

                def pending(done: int, mine=mine) -> tuple[list[Event], dict[int, Event]]:
                    return [e for e in mine if e.id > done], by_id

                status, _ = self._apply_user(user, last_per_user[user], pending, None, "")
                if status not in ("applied", "already"):
                    raise StoreError(f"feature store {self.url} changed during catch-up ({status}); "
                                     "retried later")
            return behind

    def close(self) -> None:
        """Disconnect every node's pool (``RedisCluster.close`` alone leaves them connected)."""
        for conn in self._hot.values():
            with contextlib.suppress(*REDIS_ERRORS):
                conn.disconnect()
        self._hot.clear()
        self._owner.clear()
        self.unread.clear()
        if self._client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                self._client.disconnect_connection_pools()
                self._client.close()

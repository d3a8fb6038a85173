"""Online features over the Redis protocol: fakeredis in-process by default, or a real server.

One round trip per event: a server-side Lua script (``store_script``; FCALL or EVALSHA) checks the
user's applied ``last_event_id`` and applies the event atomically, so a retried write never
double-counts and no transaction retry loop is needed. Every call runs under a total deadline
(``store_connection``). The store is bound to one event log (its id in the epoch): another home's
log is refused.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import redis
from recsys_tui.core import keys
from recsys_tui.core.event_log import Event, EventLog
from recsys_tui.core.store_connection import (
    CALL_DEADLINE_S,
    StoreError,
    StoreUrlError,
    connect,
    deadline,
    redact,
)
from recsys_tui.core.store_script import WriteScript

RECENT_CAP = 50
LOCK_TTL_MS = 60_000
GAP_ROUNDS = 3
"""Resends after a ``gap`` reply (another process keeps writing the same user)."""
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError, redis.exceptions.ClusterError,
                redis.exceptions.RedisClusterException, redis.exceptions.TryAgainError)
"""Errors that mean "unreachable" (the engine degrades); cluster errors included (a master down)."""
SAFE_POLICIES = ("noeviction",)
SCRIPT_COMMANDS = ("hget", "hmget", "exists", "sismember", "hincrby", "lpush", "lrem", "ltrim", "zincrby",
                   "set", "hset", "sadd", "zadd")
"""What the write scripts run (a Redis ACL checks each command inside a script too; the cluster's
user step increments counts with HINCRBY)."""
ACL_COMMANDS = ("ping", "exists", "hget", "hgetall", "hset", "zrange", "zrevrange", "zscore", "zadd", "sadd",
                "lrange", "get", "set", "del", "scan", "fcall", "function|load", "evalsha", "eval",
                "script|load", "multi", "exec",
                *[c for c in SCRIPT_COMMANDS if c not in ("exists", "hget", "hset", "zadd", "sadd", "set")])
"""Every command the store sends: a Redis ACL user needs only these, on keys ``rs:v1:*``, e.g.
``ACL SETUSER app on >PASSWORD resetkeys ~rs:v1:* resetchannels -@all +ping +exists ...``. Without
``+config|get`` the store cannot read ``maxmemory-policy`` and warns instead of checking it; without
``+fcall``/``+function|load`` the write runs as a script (EVALSHA) instead of a function."""

__all__ = ["RECENT_CAP", "FeatureStore", "StoreError", "StoreUrlError", "UserFeatures", "redact"]


def _decode_recent(raw: bytes) -> tuple[int, int, str, float | None]:
    event_id, item_id, kind, rating = raw.decode().split(":")
    return int(event_id), int(item_id), kind, (float(rating) if rating else None)


@dataclass
class UserFeatures:
    """What the store holds for one user."""

    counts: dict[str, int]
    last_event_id: int
    recent: list[tuple[int, int, str, float | None]]
    embedding: np.ndarray | None
    embedding_version: str | None


class FeatureStore:
    """Per-user counts, recent list and embedding; global popularity, watermark and user registry."""

    def __init__(self, client: redis.Redis, kind: str, url: str | None = None,
                 warnings: list[str] | None = None) -> None:
        self.client = client
        self.kind = kind
        self.url = redact(url)
        self.log_id = ""
        """The id of the event log this store mirrors (set by the engine; tests may leave it empty)."""
        self.warnings: list[str] = list(warnings or [])
        """Things a person should know (TLS verification off, eviction policy unknown)."""
        self.notes: list[str] = []
        """What the store repaired (keys found missing and rebuilt from the log)."""
        self.writer = WriteScript(client) if client is not None else None
        """Sends the write script (FCALL or EVALSHA; None for a cluster, which has its own two)."""
        self._policy_checked = kind != "redis"

    @staticmethod
    def open(url: str | None) -> FeatureStore:
        from recsys_tui.core.cluster_store import ClusterFeatureStore, is_cluster_url

        if is_cluster_url(url):
            return ClusterFeatureStore(url)  # type: ignore[arg-type]
        client, kind, warnings = connect(url)
        return FeatureStore(client, kind, url, warnings)

    def close(self) -> None:
        """Release the client's connections (the engine calls this once, from ``close``)."""
        if self.client is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                self.client.close()

    @contextlib.contextmanager
    def _guard(self, what: str, seconds: float | None = CALL_DEADLINE_S) -> Iterator[None]:
        """Run one store call under a total deadline; any Redis failure becomes a ``StoreError``."""
        try:
            with deadline(seconds) if seconds else contextlib.nullcontext():
                yield
        except REDIS_ERRORS as exc:
            text = str(exc).split("\n")[0][:160] or type(exc).__name__
            raise StoreError(f"feature store {self.url} unreachable: {text}") from None
        except redis.RedisError as exc:
            text = str(exc).split("\n")[0][:160]
            if "script" in text and "can't run" in text:
                text += f" (the write script runs {' '.join(SCRIPT_COMMANDS)})"
            raise StoreError(f"feature store {self.url} refused {what}: {text}") from None

    def ping(self) -> None:
        """Reach the server; the first time, check that it never evicts the store's keys."""
        with self._guard("a ping"):
            self.client.ping()
            if not self._policy_checked:
                self._check_eviction_policy()
                self._policy_checked = True

    def _eviction_policies(self) -> list[str | None]:
        """The server's ``maxmemory-policy`` (one per master; None when unset)."""
        return [self.client.config_get("maxmemory-policy").get("maxmemory-policy")]

    def _check_eviction_policy(self) -> None:
        """Refuse ``allkeys-*`` (any feature key may vanish); warn on ``volatile-*`` and when the
        policy cannot be read (CONFIG refused by an ACL or renamed by a managed service)."""
        try:
            policies = self._eviction_policies()
        except redis.ResponseError as exc:
            self.warnings.append(f"cannot read maxmemory-policy ({str(exc)[:80]}); make sure it is "
                                 "noeviction, or lost keys are rebuilt from the log when noticed")
            return
        for policy in sorted(set(policies), key=str):
            if policy is None or policy in SAFE_POLICIES:
                continue
            if policy.startswith("allkeys"):
                raise StoreError(f"feature store {self.url} has maxmemory-policy {policy}: it may evict "
                                 "any feature key and silently lose counts; set maxmemory-policy noeviction")
            self.warnings.append(f"maxmemory-policy {policy}: only the rebuild lock has a TTL, but "
                                 "noeviction is the safe setting")

    # -- writes --------------------------------------------------------------------------------

    def _user_keys(self, user_id: int) -> list[str]:
        return [keys.user_key(user_id, "meta"), keys.user_key(user_id, "recent"),
                keys.user_key(user_id, "emb"), keys.POPULARITY, keys.WATERMARK, keys.EPOCH, keys.USERS]

    def _args(self, user_id: int, batch: list[tuple[Event, Event | None]], prev: int, emb: bytes,
              version: str) -> list[object]:
        """The write script's ``ARGV`` for ``batch`` (``core.store_script``)."""
        args: list[object] = [self.log_id, prev, RECENT_CAP, emb, version, user_id]
        for event, undone in batch:
            if event.kind != "undo":
                args += [event.id, "+", event.kind, event.item_id, _encode_recent(event), event.ts]
            elif undone is not None:
                args += [event.id, "-", undone.kind, undone.item_id, _encode_recent(undone), event.ts]
            else:
                args += [event.id, "0", "", 0, "", event.ts]
        return args

    def _run(self, user_id: int, batch: list[tuple[Event, Event | None]], prev: int, emb: bytes,
             version: str) -> tuple[str, str]:
        """One script call for ``batch`` (events of one user in id order, each with the event it
        undoes); retried once after a connection error (the script is idempotent)."""
        args, user_keys = self._args(user_id, batch, prev, emb, version), self._user_keys(user_id)
        try:
            reply = self.writer(user_keys, args)  # type: ignore[misc]
        except REDIS_ERRORS:
            reply = self.writer(user_keys, args)  # type: ignore[misc]
        return reply[0].decode(), reply[1].decode()

    def _refuse_foreign(self, owner: str) -> StoreError:
        return StoreError(f"feature store {self.url} holds the features of another event log (id "
                          f"{owner[:12]}, this home's is {self.log_id[:12] or 'unset'}): give each home "
                          "its own Redis database (e.g. redis://host:6379/1)")

    def apply(self, event: Event, embedding: np.ndarray | None = None, version: str = "",
              undone: Event | None = None, log: EventLog | None = None) -> str:
        """Apply one logged event exactly once, in one round trip; return ``applied``, ``already``,
        ``unseeded`` (empty store: nothing written, run ``catch_up``) or ``lost`` (keys vanished,
        e.g. evicted: the epoch is dropped so the next ``catch_up`` rebuilds from the log).

        With ``log`` the script also checks that the store holds the user's previous logged event;
        if not (another process logged one and has not written it yet, or Redis missed it), the
        user's backlog is read from the log *outside* any Redis transaction and sent in one more
        call, applied in id order, each event once.
        """
        prev = self._prev(event, log)
        emb = b"" if embedding is None else np.asarray(embedding, np.float32).tobytes()
        batch = [(event, undone)]
        with self._guard("a write"):
            for _ in range(GAP_ROUNDS):
                status, detail = self._run(event.user_id, batch, prev, emb, version)
                if status != "gap" or log is None:
                    break
                prev = int(detail)
                events, cancelled = log.backlog(event.user_id, prev, event.id)
                batch = [(e, cancelled.get(e.undoes) if e.undoes else None) for e in events]
            if status == "foreign":
                raise self._refuse_foreign(detail)
            if status == "lost":
                self.notes.append(f"{detail} missing (evicted or deleted): rebuilt from the log")
                self.client.delete(keys.EPOCH)
            if status == "gap":
                raise StoreError(f"feature store {self.url}: user {event.user_id} is contended, "
                                 "write not applied (the log keeps it; caught up later)")
        return status

    @staticmethod
    def _prev(event: Event, log: EventLog | None) -> int:
        """The user's event before ``event`` in the log (0 without a log to check against)."""
        if log is None:
            return 0
        return event.prev_id if event.prev_id is not None else log.previous_id(event.user_id, event.id)

    def set_embedding(self, user_id: int, embedding: np.ndarray, version: str) -> None:
        with self._guard("a write"):
            pipe = self.client.pipeline(transaction=True)
            pipe.set(keys.user_key(user_id, "emb"), np.asarray(embedding, np.float32).tobytes())
            pipe.hset(keys.user_key(user_id, "meta"), "emb_version", version)
            pipe.execute()

    # -- reads ---------------------------------------------------------------------------------

    def last_event_id(self, user_id: int) -> int:
        with self._guard("a read"):
            raw = self.client.hget(keys.user_key(user_id, "meta"), "last_event_id")
        return int(raw) if raw else 0

    def user(self, user_id: int) -> UserFeatures:
        with self._guard("a read"):
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(keys.user_key(user_id, "meta"))
            pipe.lrange(keys.user_key(user_id, "recent"), 0, -1)
            pipe.get(keys.user_key(user_id, "emb"))
            meta, recent, emb = pipe.execute()
        meta = {k.decode(): v.decode() for k, v in meta.items()}
        counts = {kind: int(meta.get(f"n_{kind}", 0)) for kind in ("rating", "click", "view")}
        return UserFeatures(
            counts=counts,
            last_event_id=int(meta.get("last_event_id", 0)),
            recent=[_decode_recent(r) for r in recent],
            embedding=np.frombuffer(emb, dtype=np.float32).copy() if emb else None,
            embedding_version=meta.get("emb_version"),
        )

    def popular(self, n: int) -> list[tuple[int, float]]:
        """The ``n`` most popular item ids with their counts."""
        with self._guard("a read"):
            rows = self.client.zrevrange(keys.POPULARITY, 0, max(n, 1) - 1, withscores=True)
        return [(int(item), float(score)) for item, score in rows]

    def popularity(self) -> dict[int, float]:
        with self._guard("a read"):
            rows = self.client.zrange(keys.POPULARITY, 0, -1, withscores=True)
        return {int(item): float(score) for item, score in rows}

    def watermark(self) -> int:
        with self._guard("a read"):
            score = self.client.zscore(keys.WATERMARK, "applied")
        return int(score or 0)

    def all_keys(self) -> list[str]:
        with self._guard("a scan", None):
            return sorted(k.decode() for k in self.client.scan_iter(match="*", count=1000))

    def problems(self) -> list[str]:
        """Why the store is not fully trustworthy right now (empty when it is): missing global keys,
        another log's data, warnings from connecting, repairs made."""
        with self._guard("a read"):
            pipe = self.client.pipeline(transaction=False)
            pipe.hget(keys.EPOCH, "log")
            pipe.exists(keys.POPULARITY)
            pipe.exists(keys.USERS)
            owner, pop, users = pipe.execute()
        found = list(self.warnings) + list(self.notes)
        if owner is None:
            found.append("the store is empty; it is rebuilt from the log at the next event")
        elif self.log_id and owner.decode() not in ("", self.log_id):
            found.append(str(self._refuse_foreign(owner.decode())))
        elif not (pop and users):
            found.append("popularity or user registry missing (evicted?); rebuilt from the log at the "
                         "next event")
        return found

    # -- rebuild and catch-up ------------------------------------------------------------------

    def is_seeded(self) -> bool:
        with self._guard("a read"):
            return bool(self.client.exists(keys.EPOCH))

    @contextlib.contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        token = f"{time.time_ns()}"
        until = time.monotonic() + LOCK_TTL_MS / 1000

        def take() -> bool:
            with deadline():
                return bool(self.client.set(keys.REBUILD_LOCK, token, nx=True, px=LOCK_TTL_MS))

        while not take():
            if time.monotonic() > until:
                raise StoreError(f"feature store {self.url}: another process holds the rebuild lock")
            time.sleep(0.02)
        try:
            yield
        finally:
            with deadline():
                if self.client.get(keys.REBUILD_LOCK) == token.encode():
                    self.client.delete(keys.REBUILD_LOCK)

    def _wipe(self) -> None:
        """Delete every key of the namespace but the rebuild lock (the epoch first); each round
        trip has its own deadline, so a large store is wiped page by page."""
        with deadline():
            self.client.delete(keys.EPOCH)
        cursor = None
        while cursor != 0:
            with deadline():
                cursor, found = self.client.scan(cursor or 0, match=f"{keys.NAMESPACE}:*", count=1000)
                doomed = [k for k in found if k.decode() != keys.REBUILD_LOCK]
                if doomed:
                    self.client.delete(*doomed)

    def _seed(self, seed_popularity: dict[int, float], seed_tag: str) -> None:
        """Make the store valid for this log: wipe and reseed it when it is empty or incomplete."""
        with deadline():
            pipe = self.client.pipeline(transaction=False)
            pipe.hget(keys.EPOCH, "log")
            pipe.exists(keys.POPULARITY)
            pipe.exists(keys.USERS)
            owner, pop, users = pipe.execute()
        if owner is not None and owner.decode() not in ("", self.log_id) and self.log_id:
            raise self._refuse_foreign(owner.decode())
        if owner is not None and pop and users:
            return
        if owner is not None:
            self.notes.append("popularity or user registry missing (evicted or deleted): rebuilt "
                              "from the log")
        self._wipe()
        with deadline():
            pipe = self.client.pipeline(transaction=True)
            if seed_popularity:
                pipe.zadd(keys.POPULARITY, {str(i): c for i, c in seed_popularity.items()})
            pipe.sadd(keys.USERS, "0")
            pipe.hset(keys.EPOCH, mapping={"seed": seed_tag, "created": int(time.time()),
                                           "log": self.log_id})
            pipe.execute()

    def catch_up(self, seed_popularity: dict[int, float], seed_tag: str,
                 events: Iterable[Event], last_per_user: dict[int, int]) -> set[int]:
        """Seed an empty (or incomplete) store and apply every logged event it lacks; return the
        users touched.

        ``events`` must be every event of the log (including undo markers) in id order. Each
        user's missing events go in one script call, so a process writing live events at the same
        time never sees one applied twice. Every round trip has its own deadline.
        """
        with self._guard("the catch-up", None), deadline(LOCK_TTL_MS / 1000), self._rebuild_lock():
            self._seed(seed_popularity, seed_tag)
            users = sorted(last_per_user)
            with deadline():
                pipe = self.client.pipeline(transaction=False)
                for user in users:
                    pipe.hget(keys.user_key(user, "meta"), "last_event_id")
                applied = {u: int(v or 0) for u, v in zip(users, pipe.execute(), strict=True)}
            behind = {u for u in users if applied[u] < last_per_user[u]}
            if not behind:
                return set()
            by_id: dict[int, Event] = {}
            per_user: dict[int, list[Event]] = {u: [] for u in behind}
            for event in events:
                by_id[event.id] = event
                if event.user_id in per_user:
                    per_user[event.user_id].append(event)
            for user in sorted(behind):
                batch = [(e, by_id.get(e.undoes) if e.undoes else None)
                         for e in per_user[user] if e.id > applied[user]]
                with deadline():
                    status, detail = self._run(user, batch, applied[user], b"", "")
                if status == "foreign":
                    raise self._refuse_foreign(detail)
                if status in ("unseeded", "lost", "gap"):
                    raise StoreError(f"feature store {self.url} changed during catch-up ({status}); "
                                     "retried later")
            return behind


def _encode_recent(event: Event) -> str:
    rating = "" if event.rating is None else f"{event.rating:g}"
    return f"{event.id}:{event.item_id}:{event.kind}:{rating}"

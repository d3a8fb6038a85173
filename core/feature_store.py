"""Online features over the Redis protocol: fakeredis in-process by default, or a real server.

One pipeline (MULTI/EXEC) per event. Writes are never retried blindly: after a connection error
the user's ``last_event_id`` is read back and the event is re-sent only if it did not land, so a
retried write never double-counts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import numpy as np
import redis
from recsys_tui.common.errors import RecsysError
from recsys_tui.core import keys
from recsys_tui.core.event_log import Event, EventLog
from redis.backoff import NoBackoff
from redis.retry import Retry

RECENT_CAP = 50
SOCKET_TIMEOUT_S = 0.5
CONNECT_TIMEOUT_S = 0.5
LOCK_TTL_MS = 60_000
WATCH_RETRIES = 100
_SECRET_PARAMS = ("password", "pass", "pwd")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError, redis.exceptions.ClusterError,
                redis.exceptions.RedisClusterException, redis.exceptions.TryAgainError)
"""Errors that mean "unreachable" (the engine degrades); cluster errors included (a master down)."""
ACL_COMMANDS = ("ping", "exists", "hget", "hgetall", "hset", "hincrby", "zadd", "zincrby", "zrange",
                "zrevrange", "zscore", "lpush", "lrem", "ltrim", "lrange", "get", "set", "del", "scan",
                "watch", "unwatch", "multi", "exec", "discard")
"""Every command the store sends: a Redis ACL user needs only these, on keys ``rs:v1:*``, e.g.
``ACL SETUSER app on >PASSWORD resetkeys ~rs:v1:* resetchannels -@all +ping +exists ...``."""


class StoreError(RecsysError):
    """The feature store is unreachable or refused an operation."""


def redact(url: str | None) -> str:
    """The URL without its password (``redis://user:***@host:port/0``), also in ``?password=``."""
    if not url:
        return "embedded (fakeredis)"
    try:
        parts = urlsplit(url)
        query = "&".join(f"{k}={'***' if k.lower() in _SECRET_PARAMS else v}"
                         for k, v in parse_qsl(parts.query, keep_blank_values=True))
        netloc = parts.netloc
        if not netloc and "@" in url:  # no "//" (e.g. "user:secret@host"): hide all credentials
            return f"***@{url.rpartition('@')[2]}"
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            netloc = f"{parts.username or ''}:***@{host}"
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<unparseable redis url>"


def connect(url: str | None) -> tuple[redis.Redis, str]:
    """A client and its kind (``fakeredis`` or ``redis``); no network traffic yet."""
    if not url:
        import fakeredis

        return fakeredis.FakeRedis(), "fakeredis"
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        raise StoreError(f"malformed Redis URL {redact(url)!r}: use redis://, rediss://, unix:// "
                         "or redis+cluster://host:port[,host:port...]")
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0), health_check_interval=30,
        )
    except (ValueError, TypeError) as exc:
        raise StoreError(f"malformed Redis URL {redact(url)!r} ({exc})") from None
    return client, "redis"


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
    """Per-user counts, recent list and embedding; global popularity and watermark."""

    def __init__(self, client: redis.Redis, kind: str, url: str | None = None) -> None:
        self.client = client
        self.kind = kind
        self.url = redact(url)

    @staticmethod
    def open(url: str | None) -> FeatureStore:
        from recsys_tui.core.cluster_store import ClusterFeatureStore, is_cluster_url

        if is_cluster_url(url):
            return ClusterFeatureStore(url)  # type: ignore[arg-type]
        client, kind = connect(url)
        return FeatureStore(client, kind, url)

    def _wrap(self, exc: Exception) -> StoreError:
        text = str(exc).split("\n")[0][:160] or type(exc).__name__
        return StoreError(f"feature store {self.url} unreachable: {text}")

    def ping(self) -> None:
        try:
            self.client.ping()
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        except redis.RedisError as exc:
            raise StoreError(f"feature store {self.url}: {str(exc)[:160]}") from None

    # -- writes --------------------------------------------------------------------------------

    def _queue_event(self, pipe, event: Event, embedding: np.ndarray | None, version: str,
                     undone: Event | None) -> None:
        meta = keys.user_key(event.user_id, "meta")
        recent = keys.user_key(event.user_id, "recent")
        if event.kind == "undo":
            if undone is not None:
                pipe.hincrby(meta, f"n_{undone.kind}", -1)
                pipe.zincrby(keys.POPULARITY, -1, str(undone.item_id))
                pipe.lrem(recent, 1, _encode_recent(undone))
        else:
            pipe.hincrby(meta, f"n_{event.kind}", 1)
            pipe.zincrby(keys.POPULARITY, 1, str(event.item_id))
            pipe.lpush(recent, _encode_recent(event))
            pipe.ltrim(recent, 0, RECENT_CAP - 1)
        fields = {"last_event_id": event.id, "updated": event.ts}
        if embedding is not None:
            pipe.set(keys.user_key(event.user_id, "emb"), np.asarray(embedding, np.float32).tobytes())
            fields["emb_version"] = version
        pipe.hset(meta, mapping=fields)
        pipe.zadd(keys.WATERMARK, {"applied": event.id}, gt=True)

    def apply(self, event: Event, embedding: np.ndarray | None = None, version: str = "",
              undone: Event | None = None, log: EventLog | None = None) -> str:
        """Apply one logged event exactly once; return ``applied``, ``already`` or ``unseeded``.

        An optimistic transaction (WATCH the user's meta and the epoch, MULTI/EXEC) reads the
        user's ``last_event_id``: events at or below it already landed (a retry after a dropped
        reply, or another process caught up first). With ``log`` every logged event of the user the
        store lacks up to ``event`` is applied in id order, so concurrent processes writing the same
        user never lose or double-count an event. ``unseeded`` means the store is empty (Redis came
        back without its data): nothing was written, the caller must run ``catch_up``.
        """
        def pending(applied: int) -> tuple[list[Event], dict[int, Event]]:
            if log is not None:
                return log.backlog(event.user_id, applied, event.id)
            return [event], ({undone.id: undone} if undone is not None else {})

        for attempt in (0, 1):
            try:
                return self._apply_user(event.user_id, event.id, pending, embedding, version)
            except REDIS_ERRORS as exc:
                if attempt:
                    raise self._wrap(exc) from None
            except StoreError:
                raise
            except redis.RedisError as exc:
                raise StoreError(f"feature store {self.url} refused a write: {str(exc)[:160]}") from None
        raise AssertionError("unreachable")

    def _apply_user(self, user_id: int, upto_id: int,
                    pending: Callable[[int], tuple[list[Event], dict[int, Event]]],
                    embedding: np.ndarray | None, version: str) -> str:
        """Apply the user's events above the stored ``last_event_id`` up to ``upto_id`` atomically."""
        meta = keys.user_key(user_id, "meta")
        with self.client.pipeline(transaction=True) as pipe:
            for _ in range(WATCH_RETRIES):
                try:
                    pipe.watch(meta, keys.EPOCH)
                    if not pipe.exists(keys.EPOCH):
                        return "unseeded"
                    applied = int(pipe.hget(meta, "last_event_id") or 0)
                    if applied >= upto_id:
                        return "already"
                    events, undone = pending(applied)
                    pipe.multi()
                    for event in events:
                        last = event.id == upto_id
                        self._queue_event(pipe, event, embedding if last else None, version,
                                          undone.get(event.undoes) if event.undoes else None)
                    pipe.execute()
                    return "applied"
                except redis.WatchError:
                    continue
        raise StoreError(f"feature store {self.url}: user {user_id} is contended, write not applied")

    def set_embedding(self, user_id: int, embedding: np.ndarray, version: str) -> None:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(keys.user_key(user_id, "emb"), np.asarray(embedding, np.float32).tobytes())
            pipe.hset(keys.user_key(user_id, "meta"), "emb_version", version)
            pipe.execute()
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None

    # -- reads ---------------------------------------------------------------------------------

    def last_event_id(self, user_id: int) -> int:
        try:
            raw = self.client.hget(keys.user_key(user_id, "meta"), "last_event_id")
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        return int(raw) if raw else 0

    def user(self, user_id: int) -> UserFeatures:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(keys.user_key(user_id, "meta"))
            pipe.lrange(keys.user_key(user_id, "recent"), 0, -1)
            pipe.get(keys.user_key(user_id, "emb"))
            meta, recent, emb = pipe.execute()
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
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
        try:
            rows = self.client.zrevrange(keys.POPULARITY, 0, max(n, 1) - 1, withscores=True)
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        return [(int(item), float(score)) for item, score in rows]

    def popularity(self) -> dict[int, float]:
        try:
            rows = self.client.zrange(keys.POPULARITY, 0, -1, withscores=True)
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        return {int(item): float(score) for item, score in rows}

    def watermark(self) -> int:
        try:
            score = self.client.zscore(keys.WATERMARK, "applied")
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None
        return int(score or 0)

    def all_keys(self) -> list[str]:
        try:
            return sorted(k.decode() for k in self.client.scan_iter(match="*", count=1000))
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None

    # -- rebuild and catch-up ------------------------------------------------------------------

    def is_seeded(self) -> bool:
        try:
            return bool(self.client.exists(keys.EPOCH))
        except REDIS_ERRORS as exc:
            raise self._wrap(exc) from None

    @contextlib.contextmanager
    def _rebuild_lock(self):
        token = f"{time.time_ns()}"
        deadline = time.monotonic() + LOCK_TTL_MS / 1000
        while not self.client.set(keys.REBUILD_LOCK, token, nx=True, px=LOCK_TTL_MS):
            if time.monotonic() > deadline:
                raise StoreError(f"feature store {self.url}: another process holds the rebuild lock")
            time.sleep(0.02)
        try:
            yield
        finally:
            if self.client.get(keys.REBUILD_LOCK) == token.encode():
                self.client.delete(keys.REBUILD_LOCK)

    def catch_up(self, seed_popularity: dict[int, float], seed_tag: str,
                 events: Iterable[Event], last_per_user: dict[int, int]) -> set[int]:
        """Seed an empty store and apply every logged event it lacks; return the users touched.

        ``events`` must be every event of the log (including undo markers) in id order. Each
        user is caught up in its own optimistic transaction (see ``apply``), so a process writing
        live events at the same time never sees one applied twice.
        """
        try:
            with self._rebuild_lock():
                if not self.client.exists(keys.EPOCH):
                    pipe = self.client.pipeline(transaction=True)
                    pipe.delete(keys.POPULARITY, keys.WATERMARK)
                    if seed_popularity:
                        pipe.zadd(keys.POPULARITY, {str(i): c for i, c in seed_popularity.items()})
                    pipe.hset(keys.EPOCH, mapping={"seed": seed_tag, "created": int(time.time())})
                    pipe.execute()
                users = sorted(last_per_user)
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


def _encode_recent(event: Event) -> str:
    rating = "" if event.rating is None else f"{event.rating:g}"
    return f"{event.id}:{event.item_id}:{event.kind}:{rating}"

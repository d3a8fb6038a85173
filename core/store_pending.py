"""A feature write sent before the search and read after it: one round trip, overlapped.

On a real Redis most of the write's time is waiting: the server wakes, runs the script and
answers (about 0.1 ms on an idle machine; milliseconds when the CPUs are busy and the sleeping
server has to wait for one). So the engine sends the script as soon as the fold-in is done,
searches and re-ranks while the server works, and reads the reply before the call returns. The
event is still acknowledged only after the store applied it (the same script, exactly once by
event id); only the wait overlaps the engine's own work.

The write is sent as the store's writer would send it (FCALL of the loaded function, or EVALSHA
where the server has no functions). Anything but a plain ``applied``/``already`` reply (a
connection error, "function not found" or NOSCRIPT after a server restart or flush, an ACL
refusal, ``gap``, ``unseeded``, ``lost``, ``foreign``) is handed to the store's synchronous
``apply``, which loads what is missing, resends the same idempotent script and handles the rest
as before. The embedded store (fakeredis runs a script inside the send) is not overlapped:
``begin`` returns None and the caller writes synchronously. Redis Cluster's two slot-local
scripts have their own overlap, in order (``core.cluster_pending``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import redis
from recsys_tui.core.event_log import Event, EventLog
from recsys_tui.core.feature_store import REDIS_ERRORS, FeatureStore
from recsys_tui.core.store_connection import deadline

DONE = ("applied", "already")


@dataclass
class PendingWrite:
    """A write whose script was sent on ``conn`` (None: the send failed; ``finish`` resends)."""

    store: FeatureStore
    event: Event
    embedding: np.ndarray | None
    version: str
    log: EventLog | None
    conn: redis.connection.AbstractConnection | None


def begin(store: FeatureStore, event: Event, embedding: np.ndarray | None, version: str,
          log: EventLog | None) -> PendingWrite | None:
    """Send ``event``'s write script without waiting; None where the store is not overlapped."""
    if store.kind != "redis" or type(store) is not FeatureStore or store.client is None:
        return None
    pool = store.client.connection_pool
    keys = store._user_keys(event.user_id)
    args = store._args(event.user_id, [(event, None)], store._prev(event, log),
                       b"" if embedding is None else np.asarray(embedding, np.float32).tobytes(), version)
    conn = None
    try:
        with deadline():
            conn = pool.get_connection()
            conn.send_command(*store.writer.request(keys, args))
    except (*REDIS_ERRORS, redis.RedisError):
        _drop(store, conn, broken=True)
        conn = None
    return PendingWrite(store, event, embedding, version, log, conn)


def finish(pending: PendingWrite) -> str:
    """Read the reply (``apply``'s statuses); anything unusual goes through ``apply`` again."""
    store, conn = pending.store, pending.conn
    if conn is not None:
        reply = None
        try:
            with deadline():
                reply = conn.read_response()
        except REDIS_ERRORS:
            _drop(store, conn, broken=True)
        except redis.RedisError:  # not loaded, NOPERM…: the connection is fine, the sync path says why
            _drop(store, conn, broken=False)
        else:
            _drop(store, conn, broken=False)
        if isinstance(reply, list) and len(reply) == 2 and reply[0].decode() in DONE:
            return reply[0].decode()
    return store.apply(pending.event, pending.embedding, pending.version, None, pending.log)


def _drop(store: FeatureStore, conn: redis.connection.AbstractConnection | None, broken: bool) -> None:
    """Give ``conn`` back to the pool (disconnected first when it may hold half a reply)."""
    if conn is None:
        return
    if broken:
        with contextlib.suppress(*REDIS_ERRORS):
            conn.disconnect()
    store.client.connection_pool.release(conn)

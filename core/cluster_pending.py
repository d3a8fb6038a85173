"""The Redis Cluster write overlapped with the engine's own work, its two steps kept in order.

``core.cluster_store`` applies an event in two slot-local scripts, the global step (``{g}``:
seen bit, popularity, watermark) strictly before the user step (``{u:ID}``: counts, recent list,
embedding, ``last_event_id``). Written synchronously that is four waits per event (read the user's
``last_event_id``, read the user's backlog from the log, step 1, step 2). On the hot path the
engine knows more: the log's append returned the user's previous event id (``prev_id``, exact
under the log's per-user lock), which is what the store must hold for this one event to apply.
So:

1. right after the log commit, step 1 is sent for the event (it needs nothing from the fold-in);
2. after the fold-in its reply is read, and only if it says ``applied`` step 2 is sent with
   ``prev_id`` as the expected ``last_event_id`` and the new embedding;
3. after the search and re-rank step 2's reply is read.

An undo marker goes the same way (``begin`` given the event it cancels, which the log's
``undo_last`` returns; its ``prev_id`` is as exact): step 1 takes the item's popularity back, step 2
the user's count and recent entry.

Each wait overlaps engine work, and the order of the two steps is today's: step 2 is sent only
once step 1's reply said it landed, so a user's features never run ahead of the global slot (the
proof in ``core.cluster_store`` holds unchanged), and step 1 still refuses another log's store
before anything is written to a user's slot. Anything else — a connection error, NOSCRIPT, a
MOVED slot, ``unseeded``/``foreign``/``lost`` from step 1, or step 2 finding another
``last_event_id`` (another process's event not yet in the store, a lost meta hash) — goes through
the store's synchronous ``apply``, which re-reads, resends the same idempotent steps and handles
it as before. The event is acknowledged only after the store applied it, exactly once by id.


Each script goes out on the store's own connection to the master of its slot
(``ClusterFeatureStore.hot_connection``: no pool checkout, no readiness poll, no router; the slot
→ master map cached per slot and read again after any fallback), packed here in one buffer. A
connection whose reply was never read (an error between the send and the read) is closed before
it is used again, so a stale reply is never taken for a new one."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import redis
from recsys_tui.core import keys
from recsys_tui.core.cluster_store import ClusterFeatureStore, pack
from recsys_tui.core.event_log import Event, EventLog
from recsys_tui.core.feature_store import RECENT_CAP, REDIS_ERRORS, _encode_recent
from recsys_tui.core.store_connection import deadline
from redis.connection import AbstractConnection


@dataclass
class ClusterPending:
    """One event's cluster write in flight: ``stage`` is ``global`` (step 1 sent on ``conn``),
    ``user`` (step 2 sent on ``conn``) or ``sync`` (``finish`` applies synchronously)."""

    store: ClusterFeatureStore
    event: Event
    log: EventLog | None
    stage: str
    conn: AbstractConnection | None = None
    embedding: np.ndarray | None = None
    version: str = ""
    undone: Event | None = None
    """For an undo marker: the event it cancels (its item's count and recent entry are taken back)."""


def begin(store: object, event: Event, log: EventLog | None, undone: Event | None = None
          ) -> ClusterPending | None:
    """Send step 1 for ``event`` without waiting; None unless ``store`` is a cluster store and the
    log said the user's previous event (no ``prev_id``, or an undo marker without the event it
    cancels: the synchronous path)."""
    if not isinstance(store, ClusterFeatureStore) or event.prev_id is None:
        return None
    if event.kind == "undo" and (undone is None or undone.id != event.undoes):
        return None
    pending = ClusterPending(store, event, log, "sync", undone=undone)
    item, delta = (undone.item_id, -1) if undone is not None else (event.item_id, 1)
    args = (store.log_id, event.id, item, delta, event.user_id)  # as the catch-up's step 1 sends it
    _send(pending, keys.EPOCH, "_global", store._global_keys(), args, "global")
    return pending


def send_user(pending: ClusterPending, embedding: np.ndarray | None, version: str) -> None:
    """Read step 1's reply; if it landed, send step 2 (expected ``last_event_id`` = ``prev_id``)."""
    pending.embedding, pending.version = embedding, version
    if pending.stage != "global":
        return
    reply = _read(pending)
    if not (isinstance(reply, list) and len(reply) == 2 and reply[0] == b"applied"):
        _fallback(pending)  # a refusal or an error: the synchronous apply says why
        return
    event, gone = pending.event, pending.undone
    emb = b"" if embedding is None else np.asarray(embedding, np.float32).tobytes()
    # counts, the recent entry pushed, the recent entry removed (as ClusterFeatureStore._user_step)
    change = (f"n_{gone.kind}", -1, "", _encode_recent(gone)) if gone is not None \
        else (f"n_{event.kind}", 1, _encode_recent(event), "")
    args = (event.prev_id, event.id, event.ts, emb, version if embedding is not None else "", RECENT_CAP,
            *change)
    user_keys = [keys.user_key(event.user_id, f) for f in ("meta", "recent", "emb")]
    _send(pending, user_keys[0], "_user", user_keys, args, "user")


def finish(pending: ClusterPending) -> str:
    """Read step 2's reply: ``applied``; anything else goes through the store's ``apply``."""
    if pending.stage == "global":  # step 2 was never sent: read step 1 first, then apply
        _read(pending)
    elif pending.stage == "user":
        reply = _read(pending)
        if reply == 2:
            pending.store.notes.append(f"user {pending.event.user_id} meta missing (evicted or deleted): "
                                       "rebuilt from the log")
        if reply in (1, 2):
            return "applied"
    _fallback(pending)
    return pending.store.apply(pending.event, pending.embedding, pending.version, pending.undone,
                               pending.log)


def _send(pending: ClusterPending, route: str, script: str, script_keys: list[str], args: tuple,
          stage: str) -> None:
    """Send the store's ``script`` (``_global``, ``_user``) on the store's connection to the master
    of ``route``'s slot; stage ``sync`` on any error."""
    pending.stage, pending.conn = "sync", None
    conn = None
    try:
        with deadline():
            store = pending.store
            store.client  # noqa: B018 — connects on first use; the scripts are registered then
            conn = store.hot_connection(route)
            if id(conn) in store.unread:  # a reply left unread by an interrupted event: drop it
                store.unread.discard(id(conn))
                conn.disconnect()
            command = pack("EVALSHA", getattr(store, script).sha, len(script_keys), *script_keys, *args)
            store.unread.add(id(conn))
            conn.send_packed_command([command], check_health=False)
    except (*REDIS_ERRORS, redis.RedisError):
        if conn is not None:
            pending.store.unread.discard(id(conn))
            with contextlib.suppress(*REDIS_ERRORS):
                conn.disconnect()
        return
    pending.conn, pending.stage = conn, stage


def _read(pending: ClusterPending) -> object:
    """The reply of the script in flight (None after an error)."""
    pending.stage = "sync"
    conn, pending.conn = pending.conn, None
    if conn is None:
        return None
    try:
        with deadline():
            reply = conn.read_response()
    except REDIS_ERRORS:
        with contextlib.suppress(*REDIS_ERRORS):
            conn.disconnect()  # it may hold half a reply
        return None
    except redis.RedisError:  # NOSCRIPT, MOVED, NOPERM…: the connection is fine, apply says why
        return None
    finally:
        pending.store.unread.discard(id(conn))
    return reply


def _fallback(pending: ClusterPending) -> None:
    """The hot write did not land as sent: the next one reads the slot map again (the synchronous
    ``apply`` that follows goes through the client's router, which follows MOVED/ASK)."""
    pending.store.forget_routes()

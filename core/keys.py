"""The feature store's key schema: namespaced, versioned, one hash tag per user.

    rs:v1:{u:42}:meta     hash: n_rating, n_click, n_view, last_event_id, emb_version, updated
    rs:v1:{u:42}:recent   list: newest first, capped, "event_id:item_id:kind:rating"
    rs:v1:{u:42}:emb      string: the user's float32 embedding bytes
    rs:v1:{g}:pop         sorted set: item id → interaction count (training + events)
    rs:v1:{g}:wm          sorted set with one member "applied": highest applied event id
    rs:v1:{g}:epoch       hash: what the store was seeded from and the id of its event log
                          ("log"); absent = empty store
    rs:v1:{g}:users       set: every user the store holds features for ("0" = registry exists);
                          a member without its meta hash means the hash was lost (evicted)
    rs:v1:{g}:seen        bitmap: event ids counted in popularity (Redis Cluster only)
    rs:v1:{g}:lock:rebuild string: held while one process rebuilds or catches up

The global keys share the hash tag ``{g}`` on every server kind (one key schema): on a Redis
Cluster they live in one slot, so one script can update them together (see
``recsys_tui.core.cluster_store`` for why popularity is placed there rather than sharded).

Ids are validated positive integers before any key is built, so no title, search text or other
user-supplied string ever reaches a key.
"""

from __future__ import annotations

from recsys_tui.common.errors import RecsysError

NAMESPACE = "rs:v1"
MAX_ID = 2**31 - 1
USER_FIELDS = ("meta", "recent", "emb")


class InvalidId(RecsysError):
    """An id that is not a positive integer in range."""


def valid_id(value: object, what: str = "id") -> int:
    """``value`` as a positive int ≤ 2³¹−1, or ``InvalidId``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidId(f"{what} must be an integer, got {type(value).__name__}")
    if not 0 < value <= MAX_ID:
        shown = value if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"
        raise InvalidId(f"{what} must be between 1 and {MAX_ID}, got {shown}")
    return value


def user_key(user_id: int, field: str) -> str:
    if field not in USER_FIELDS:
        raise ValueError(f"unknown user key field {field!r}")
    return f"{NAMESPACE}:{{u:{valid_id(user_id, 'user id')}}}:{field}"


GLOBAL = f"{NAMESPACE}:{{g}}"
POPULARITY = f"{GLOBAL}:pop"
WATERMARK = f"{GLOBAL}:wm"
EPOCH = f"{GLOBAL}:epoch"
USERS = f"{GLOBAL}:users"
SEEN = f"{GLOBAL}:seen"
REBUILD_LOCK = f"{GLOBAL}:lock:rebuild"

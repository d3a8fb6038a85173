"""Independent verification for the fault tests: read the stores with their own clients.

The fault suite (``recsys_tui.faults``) judges its own scenarios; these helpers give each test a
second opinion that shares no code with it: the event log read with ``sqlite3`` directly, Redis read
with a separate redis-py client.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path


def log_rows(path: Path) -> list[tuple[int, int, int, str, float | None, int | None]]:
    """Every row of the events table: (id, user, item, kind, rating, undoes), oldest first."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        sql = "SELECT id, user_id, item_id, kind, rating, undoes FROM events ORDER BY id"
        return db.execute(sql).fetchall()
    finally:
        db.close()


def live_counts(path: Path) -> dict[int, Counter]:
    """Per user, how many of each kind are live (not undone, not undo markers)."""
    rows = log_rows(path)
    undone = {r[5] for r in rows if r[5] is not None}
    counts: dict[int, Counter] = {}
    for id_, user, _item, kind, _rating, undoes in rows:
        if undoes is None and id_ not in undone:
            counts.setdefault(user, Counter())[kind] += 1
    return counts


def live_popularity(path: Path) -> Counter:
    """Per item, the number of live events (what the store's popularity must hold)."""
    rows = log_rows(path)
    undone = {r[5] for r in rows if r[5] is not None}
    return Counter(r[2] for r in rows if r[5] is None and r[0] not in undone)


def assert_ids_contiguous(path: Path) -> None:
    ids = [r[0] for r in log_rows(path)]
    assert ids == list(range(1, len(ids) + 1)), f"gaps or repeats in event ids: {ids[:10]}…"


def redis_counts(url: str, user: int) -> dict[str, int]:
    """The user's event counts as a separate client reads them from the server."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        meta = client.hgetall(f"rs:v1:{{u:{user}}}:meta")
    finally:
        client.close()
    return {k[2:]: int(v) for k, v in meta.items() if k.startswith("n_") and int(v)}


def redis_popularity(url: str) -> dict[int, float]:
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return {int(m): float(s) for m, s in client.zrange("rs:v1:{g}:pop", 0, -1, withscores=True)}
    finally:
        client.close()

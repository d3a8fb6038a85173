"""A second opinion on a fault run: the log read by its own driver, the store by its own client.

Shares no code with the engine: ``sqlite3`` (read-only) or ``psycopg`` read the events table, a
fresh redis-py client (``Redis``, or ``RedisCluster`` for a ``redis+cluster://`` URL) reads the
keys, whose names are spelled out here rather than taken from ``core.keys``. The scenarios that
misbehave on purpose (slow, evicting, shared Redis, racing undos, PostgreSQL + Cluster) judge
their end state with ``store_problems`` and ``log_problems``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from pathlib import Path

Row = tuple[int, int, int, str, float | None, int | None]
"""One event: (id, user, item, kind, rating, undoes)."""
KINDS = ("rating", "click", "view")
_SQL = "SELECT id, user_id, item_id, kind, rating, undoes FROM events ORDER BY id"


def log_rows(sqlite_path: Path, log_url: str | None = None) -> list[Row]:
    """Every row of the events table, oldest first: the SQLite file, or the PostgreSQL log."""
    if log_url:
        import psycopg

        with psycopg.connect(log_url, connect_timeout=5) as conn:
            return [(int(i), int(u), int(it), str(k), None if r is None else float(r),
                     None if d is None else int(d)) for i, u, it, k, r, d in conn.execute(_SQL)]
    if not sqlite_path.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)) as db:
        return db.execute(_SQL).fetchall()


def live(rows: list[Row]) -> tuple[dict[int, Counter], Counter]:
    """Per user the live events of each kind, per item the live events (undone ones left out)."""
    undone = {r[5] for r in rows if r[5] is not None}
    users: dict[int, Counter] = {}
    items: Counter = Counter()
    for id_, user, item, kind, _rating, undoes in rows:
        users.setdefault(user, Counter())
        if undoes is None and id_ not in undone:
            users[user][kind] += 1
            items[item] += 1
    return users, items


def log_problems(rows: list[Row], contiguous: bool) -> list[str]:
    """Ids unique and increasing (contiguous from 1 for SQLite; PostgreSQL's identity may skip a
    number when a transaction rolls back), each undo marker cancelling one earlier event of the
    same user that is not itself a marker, no event cancelled twice."""
    problems = []
    ids = [r[0] for r in rows]
    if contiguous and ids != list(range(1, len(ids) + 1)):
        problems.append(f"ids not contiguous from 1 ({len(ids)} events, max {max(ids, default=0)})")
    if ids != sorted(set(ids)):
        problems.append("ids repeat or go backwards")
    by_id = {r[0]: r for r in rows}
    targets = Counter(r[5] for r in rows if r[5] is not None)
    twice = [t for t, n in targets.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} events undone more than once, e.g. {twice[0]}")
    for id_, user, _item, kind, _rating, undoes in rows:
        target = by_id.get(undoes) if undoes is not None else None
        if (kind == "undo") != (undoes is not None) or (undoes is not None and (
                target is None or target[1] != user or target[3] == "undo" or undoes >= id_)):
            problems.append(f"event {id_} ({kind}) cancels {undoes}")
            break
    return problems


def redis_client(url: str):
    """A new client of its own for ``url`` (``redis://`` or ``redis+cluster://h:p,…``)."""
    import redis
    from redis.cluster import ClusterNode, RedisCluster

    if url.startswith("redis+cluster://"):
        nodes = [ClusterNode(host, int(port)) for host, port in
                 (part.rsplit(":", 1) for part in url.split("://", 1)[1].split("/")[0].split(","))]
        return RedisCluster(startup_nodes=nodes, decode_responses=True, socket_timeout=5)
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)


def store_problems(url: str, rows: list[Row], seed: dict[int, float], limit: int = 5) -> list[str]:
    """Where the store at ``url`` differs from the log's ``rows``: each user's counts, every
    item's popularity (``seed``, the training counts, plus live events) and the watermark."""
    users, items = live(rows)
    client = redis_client(url)
    try:
        problems = []
        for user, counts in sorted(users.items()):
            meta = client.hgetall(f"rs:v1:{{u:{user}}}:meta")
            have = {k: int(meta.get(f"n_{k}", 0)) for k in KINDS}
            if have != {k: counts.get(k, 0) for k in KINDS}:
                problems.append(f"user {user}: store {have} != log {dict(counts)}")
        pop = {int(m): float(s) for m, s in client.zrange("rs:v1:{g}:pop", 0, -1, withscores=True)}
        expected = {i: c + items.get(i, 0) for i, c in seed.items()}
        wrong = [i for i in sorted(set(pop) | set(expected)) if pop.get(i, 0.0) != expected.get(i, 0.0)]
        if wrong:
            problems.append(f"{len(wrong)} items' popularity differ, e.g. item {wrong[0]}: "
                            f"store {pop.get(wrong[0])} != log {expected.get(wrong[0])}")
        mark = client.zscore("rs:v1:{g}:wm", "applied")
        newest = max((r[0] for r in rows), default=0)
        if int(mark or 0) != newest:
            problems.append(f"watermark {mark} != newest event {newest}")
    finally:
        client.close()
    return problems[:limit]

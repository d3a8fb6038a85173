"""Independent checks of a home after a fault: the store against the log, the log against itself."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from recsys_tui.core import keys
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog

KEY_SCHEMA = re.compile(
    r"^rs:v1:(\{u:[1-9]\d*\}:(meta|recent|emb)|\{g\}:(pop|wm|epoch|users|seen|lock:rebuild))$")
"""Every key the feature store may hold (tests check a whole session against it)."""


def dump_store(client) -> dict[str, object]:
    """Every key of a Redis database with its decoded value.

    Left out of the epoch: its creation time and the id of the event log it is bound to (two homes
    compared here have two logs, by design).
    """
    out: dict[str, object] = {}
    for raw in client.scan_iter(match="*", count=1000):
        key = raw.decode()
        kind = client.type(key).decode()
        if key == keys.REBUILD_LOCK:
            continue
        if kind == "hash":
            value = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
            if key == keys.EPOCH:
                value.pop("created", None)
                value.pop("log", None)
        elif kind == "list":
            value = [v.decode() for v in client.lrange(key, 0, -1)]
        elif kind == "zset":
            value = {m.decode(): s for m, s in client.zrange(key, 0, -1, withscores=True)}
        elif kind == "string":
            value = client.get(key)
        else:
            value = f"<{kind}>"
        out[key] = value
    return out


def _stable(value: object) -> object:
    """A meta hash without ``updated`` (the wall-clock time of the user's newest event)."""
    if isinstance(value, dict) and "last_event_id" in value:
        return {k: v for k, v in value.items() if k != "updated"}
    return value


def diff_stores(a: dict[str, object], b: dict[str, object], limit: int = 5) -> list[str]:
    """Keys whose values differ (or exist on one side only), wall-clock times aside."""
    diffs = []
    for key in sorted(set(a) | set(b)):
        if _stable(a.get(key)) != _stable(b.get(key)):
            diffs.append(f"{key}: {str(a.get(key, '<missing>'))[:80]} != {str(b.get(key, '<missing>'))[:80]}")
    return diffs[:limit] + ([f"... {len(diffs) - limit} more"] if len(diffs) > limit else [])


def seed_counts(engine: Engine) -> dict[int, float]:
    """The training counts the store's popularity starts from (item id → count)."""
    return {int(i): float(c) for i, c in zip(engine.catalogue.item_ids, engine.catalogue.n_ratings,
                                             strict=True)}


def expected_popularity(engine: Engine) -> dict[int, float]:
    """Training counts plus every live (not undone) logged event, per item."""
    expected = {int(i): float(c) for i, c in zip(engine.catalogue.item_ids, engine.catalogue.n_ratings,
                                                 strict=True)}
    for event in engine.log.events():
        expected[event.item_id] = expected.get(event.item_id, 0.0) + 1
    return expected


def store_matches_log(engine: Engine) -> list[str]:
    """Differences between the feature store and the log: per-user counts, popularity, watermark."""
    problems = []
    for user in sorted(engine.log.last_per_user()):
        counts = Counter(e.kind for e in engine.log.events(user))
        have = engine.store.user(user).counts
        if any(have[k] != counts.get(k, 0) for k in have):
            problems.append(f"user {user}: store counts {have} != log {dict(counts)}")
    pop = engine.store.popularity()
    expected = expected_popularity(engine)
    wrong = [i for i in expected if pop.get(i, 0.0) != expected[i]]
    if wrong:
        problems.append(f"{len(wrong)} items' popularity differ, e.g. item {wrong[0]}: "
                        f"store {pop.get(wrong[0])} != {expected[wrong[0]]}")
    if engine.store.watermark() != engine.log.max_id():
        problems.append(f"watermark {engine.store.watermark()} != newest event {engine.log.max_id()}")
    return problems[:5]


def log_consistent(path: Path) -> list[str]:
    """SQLite integrity, contiguous ids, undo markers pointing at earlier events of the same user."""
    log = EventLog(path)
    try:
        problems = []
        if (status := log.integrity()) != "ok":
            problems.append(f"integrity_check: {status}")
        events = list(log.iter_all())
        ids = [e.id for e in events]
        if ids != list(range(1, len(ids) + 1)):
            problems.append(f"event ids are not contiguous from 1 ({len(ids)} events, "
                            f"max {max(ids, default=0)})")
        by_id = {e.id: e for e in events}
        for e in events:
            if e.kind == "undo" and (e.undoes not in by_id or by_id[e.undoes].user_id != e.user_id
                                     or e.undoes >= e.id):
                problems.append(f"undo marker {e.id} points at {e.undoes}")
        return problems
    finally:
        log.close()

"""Per-worker cache of answered personal lists, dropped whenever the answer could change.

A personal top-k depends only on the user's history, the model version and the index: the same
inputs give the same list. So each worker keeps the answer it gave, keyed by (user, k, model
version), and drops a user's entries when this worker records an event for them or when the log
shows another process did (``LogWatch``). Cold-start lists (popular items, which move with every
event anywhere) and answers given while the store is degraded are never cached.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 50_000


class ListCache:
    """A bounded LRU of answers; used from the engine's single executor thread only."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, int, str], dict] = OrderedDict()
        self._by_user: dict[int, set[tuple[int, int, str]]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, user: int, k: int, version: str) -> dict | None:
        key = (user, k, version)
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, user: int, k: int, version: str, body: dict) -> None:
        if self.capacity <= 0:
            return
        key = (user, k, version)
        self._entries[key] = body
        self._entries.move_to_end(key)
        self._by_user.setdefault(user, set()).add(key)
        while len(self._entries) > self.capacity:
            old, _ = self._entries.popitem(last=False)
            self._by_user.get(old[0], set()).discard(old)

    def drop(self, user: int) -> None:
        for key in self._by_user.pop(user, ()):
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

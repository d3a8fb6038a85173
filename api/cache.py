"""Per-worker cache of answered personal lists, dropped whenever the answer could change.

A personal top-k depends only on the user's history, the model version and the index: the same
inputs give the same list. So each worker keeps the answer it gave, keyed by (user, k, model
version), and drops a user's entries when this worker records an event for them or when the log
shows another process did (``LogWatch``). Cold-start lists (popular items, which move with every
event anywhere) and answers given while the store is degraded are never cached.

An entry is the answer's JSON already encoded, less its timings: a hit costs no encoding, and
bytes are not tracked by the garbage collector, so a full cache adds nothing to a GC pause.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

DEFAULT_CAPACITY = 50_000
_UNCACHED = ("timings_ms", "cached")


def encode_head(payload: dict) -> bytes:
    """``payload`` as a JSON object without its timings and ``cached`` and without the closing brace;
    ``hit_body`` completes it."""
    body = {k: v for k, v in payload.items() if k not in _UNCACHED}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()[:-1]


def hit_body(head: bytes, ms: float) -> bytes:
    """The whole answer for a cache hit that took ``ms`` milliseconds."""
    shown = repr(round(ms, 4)).encode()
    return b'%s,"timings_ms":{"cache":%s,"total":%s},"cached":true}' % (head, shown, shown)


class ListCache:
    """A bounded LRU of encoded answers; safe to use from the engine's thread and the event loop."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, int, str], bytes] = OrderedDict()
        self._by_user: dict[int, set[tuple[int, int, str]]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, user: int, k: int, version: str) -> bytes | None:
        """The cached head of ``user``'s top-``k`` answer under model ``version`` (see ``hit_body``)."""
        key = (user, k, version)
        with self._lock:
            head = self._entries.get(key)
            if head is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return head

    def put(self, user: int, k: int, version: str, payload: dict) -> None:
        if self.capacity <= 0:
            return
        key, head = (user, k, version), encode_head(payload)
        with self._lock:
            self._entries[key] = head
            self._entries.move_to_end(key)
            self._by_user.setdefault(user, set()).add(key)
            while len(self._entries) > self.capacity:
                old, _ = self._entries.popitem(last=False)
                self._by_user.get(old[0], set()).discard(old)

    def drop(self, user: int) -> None:
        with self._lock:
            for key in self._by_user.pop(user, ()):
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

"""Garbage-collector pauses of an API worker: measured, exported, and kept small.

A cyclic collection stops the whole process, event loop and engine thread alike, so every request
in flight waits for it. Two things keep the pauses short: the objects that exist once the engine is
open (data set, catalogue, model, index, imported modules: most of the heap) are moved out of the
collector's reach with ``gc.freeze()``, and cached answers are held as bytes (``api/cache.py``),
which the collector does not track. What remains is measured: ``gc.callbacks`` notes each pause's
generation and length in a deque (no lock is taken inside the collector, where a lock held by the
interrupted code would deadlock), and ``flush`` moves them into the ``recsys_gc_pause_seconds``
histogram from ordinary code (after each request and at scrape time).
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable

PENDING_CAP = 10_000


def freeze_startup_heap() -> None:
    """Collect once, then exclude every object alive now from later collections."""
    gc.collect()
    gc.freeze()


class GcPauses:
    """Times each collection while installed; ``flush`` hands them to ``observe(generation, s)``."""

    def __init__(self) -> None:
        self._pending: deque[tuple[int, float]] = deque(maxlen=PENDING_CAP)
        self._start = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self._pending.append((info["generation"], time.perf_counter() - self._start))

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def flush(self, observe: Callable[[int, float], None]) -> int:
        """Observe every pause noted so far; return how many."""
        n = 0
        while self._pending:
            generation, seconds = self._pending.popleft()
            observe(generation, seconds)
            n += 1
        return n

"""Garbage-collector pauses of an API worker: measured, exported, and kept small and rare.

A cyclic collection stops the whole process, event loop and engine thread alike, so every request
in flight waits for it. A full (generation 2) collection scans every tracked object: right after
start-up that is the data set, catalogue, model, index and modules (over 100,000 objects: tens of
milliseconds), and once the users are warm it is still the engine's views of them (about 70,000
objects for ML-100K's 943 users, most of them the reasons of each user's last list).
Python starts one whenever the long-lived objects grew by a quarter, which under a stream of
events is every few seconds. So a worker that owns its engine (``serving_gc``):

* moves the start-up heap out of the collector's reach (``gc.freeze()``: never garbage);
* collects the middle generation after every second young collection (``SERVING_MIDDLE``; Python's
  default is every eleventh): a middle collection walks every object that survived since the
  previous one, so under a stream of events for many users (each leaves its view and its list's
  reasons, ~70 objects) Python's default made one pause of 1–2 ms every ~100 events, right at the
  event p99 at 25M; every second one walks a fifth as many for the same total (3,000 events at
  25M: gen-1 pause median 1.41 → 0.35 ms, max 1.99 → 0.82 ms, all pauses 79 → 72 ms; docs/SCALE.md);
* takes full collections out of Python's hands and runs one about every
  ``FULL_COLLECTION_EVERY_S`` seconds, when generation 2 has had new arrivals
  (``full_collections``): a known, rare pause instead of frequent ones, and cyclic garbage is
  still reclaimed.

Cached answers are held as bytes (``api/cache.py``), which the collector does not track. Each
pause is measured: ``gc.callbacks`` notes its generation and length in a deque (no lock is taken
inside the collector, where a lock held by the interrupted code would deadlock), and ``flush``
moves them into the ``recsys_gc_pause_seconds`` histogram from ordinary code (after each request
and at scrape time).
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections import deque
from collections.abc import Callable

PENDING_CAP = 10_000
FULL_COLLECTION_EVERY_S = 60.0
NO_AUTOMATIC_FULL = 1 << 30  # generation-1 collections before Python would consider a full one
SERVING_MIDDLE = 1
"""Young collections after which the next one also collects the middle generation is this + 1."""


def serving_gc() -> None:
    """Collect once, freeze every object alive now, collect the middle generation often (short
    pauses) and stop automatic full collections."""
    gc.collect()
    gc.freeze()
    young, _, _ = gc.get_threshold()
    gc.set_threshold(young, SERVING_MIDDLE, NO_AUTOMATIC_FULL)


async def full_collections(every_s: float = FULL_COLLECTION_EVERY_S) -> None:
    """Until cancelled: about every ``every_s`` seconds (0.5–1.5 times, at random, so that workers
    started together do not all pause at once), a full collection if generation 2 got new objects."""
    while True:
        await asyncio.sleep(every_s * (0.5 + random.random()))
        if gc.get_count()[2] > 0:
            gc.collect()


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

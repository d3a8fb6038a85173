"""Typed results the engine returns; every one carries the time each step took."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

STEPS = ("validate", "log", "foldin", "features", "search", "rerank")
"""Hot-path steps, in the order they run; ``total`` is their wall-clock sum."""


def percentile(values, q: float, empty: float = math.nan) -> float:
    """The ``q``-th percentile (0–100, linear interpolation as numpy) of ``values``; ``empty`` if none.

    The one definition behind every p50/p99 the app, the demo, ``bench`` and ``check`` print."""
    arr = np.asarray(values, dtype=np.float64)
    return float(np.percentile(arr, q)) if arr.size else empty


class Stopwatch:
    """Times consecutive steps with ``perf_counter_ns``: ``lap("step")`` closes the current one."""

    def __init__(self) -> None:
        self.start = self._last = time.perf_counter_ns()
        self.ns: dict[str, int] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter_ns()
        self.ns[step] = self.ns.get(step, 0) + now - self._last
        self._last = now

    def skip(self) -> None:
        """Don't count the time since the last lap (work outside the measured path)."""
        self._last = time.perf_counter_ns()

    def timings(self) -> Timings:
        """Milliseconds per step, in ``STEPS`` order (a step may be lapped more than once)."""
        order = sorted(self.ns, key=lambda k: STEPS.index(k) if k in STEPS else len(STEPS))
        return Timings({k: self.ns[k] / 1e6 for k in order}, sum(self.ns.values()) / 1e6)


@dataclass(frozen=True)
class Timings:
    """Milliseconds per step and in total."""

    steps: dict[str, float]
    total_ms: float

    def merged(self, other: Timings) -> Timings:
        steps = dict(self.steps)
        for k, v in other.steps.items():
            steps[k] = steps.get(k, 0.0) + v
        return Timings(steps, self.total_ms + other.total_ms)


def score_text(score: float) -> str:
    """A score with five significant digits, never cut (``0.81234``, ``17.234``, ``583``).

    Whole numbers (popularity counts) print without decimals; the app and the help use this one
    format, and ``recsys-tui recommend`` prints the same number rounded to 4 decimals.
    """
    if not math.isfinite(score):
        return str(score)
    if score == int(score) and abs(score) < 1e15:
        return str(int(score))
    digits = len(str(int(abs(score)))) if abs(score) >= 1 else 1
    return f"{score:.{max(0, 5 - digits)}f}"


@dataclass(frozen=True)
class Contributor:
    """A rated (or viewed) item behind a recommendation and its share of the positive pull."""

    item_id: int
    title: str
    rating: float | None
    share: float


@dataclass(frozen=True)
class Recommendation:
    """One ranked item with a short, true reason and the contributors it names (largest first)."""

    rank: int
    item_id: int
    title: str
    score: float
    reason: str
    because: tuple[Contributor, ...] = ()


@dataclass(frozen=True)
class RecList:
    """A user's top-k from one model version."""

    user_id: int
    items: list[Recommendation]
    personal: bool
    model_version: str
    timings: Timings
    degraded: str | None = None
    model: str = ""
    as_of: int = 0
    """The id of the user's newest event this list reflects (0: none); ``Engine.poll`` compares
    with it to say whether another process has recorded something since."""

    @property
    def item_ids(self) -> list[int]:
        return [r.item_id for r in self.items]


@dataclass(frozen=True)
class RankChange:
    """How one item moved between two lists: ``before``/``after`` are 1-based ranks or None."""

    item_id: int
    title: str
    before: int | None
    after: int | None

    @property
    def label(self) -> str:
        if self.before is None:
            return "new"
        if self.after is None:
            return "out"
        if self.after < self.before:
            return f"↑{self.before - self.after}"
        if self.after > self.before:
            return f"↓{self.after - self.before}"
        return "="


def rank_changes(before: RecList | None, after: RecList) -> list[RankChange]:
    """Changes for every item of ``after`` (in its order), then the items that dropped out."""
    old = {r.item_id: r for r in before.items} if before else {}
    new = {r.item_id: r for r in after.items}
    out = [RankChange(r.item_id, r.title, old[r.item_id].rank if r.item_id in old else None, r.rank)
           for r in after.items]
    out += [RankChange(r.item_id, r.title, r.rank, None) for r in old.values() if r.item_id not in new]
    return out


@dataclass(frozen=True)
class EventResult:
    """What recording one interaction did: the logged event, the lists before and after."""

    event_id: int
    user_id: int
    item_id: int
    kind: str
    rating: float | None
    before: RecList | None
    after: RecList
    timings: Timings
    degraded: str | None = None
    changes: list[RankChange] = field(default_factory=list)
    profile: Profile | None = None
    movie: MovieRow | None = None
    """``profile``/``movie`` (the user's profile and the item's row after the event) are filled when
    ``record(..., with_view=True)``, so an app needs one engine call per keypress."""

    @property
    def changed(self) -> bool:
        return self.before is None or self.before.item_ids != self.after.item_ids


@dataclass(frozen=True)
class MovieRow:
    """A catalogue entry with its statistics and the current user's rating."""

    item_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    avg_rating: float
    n_ratings: int
    your_rating: float | None = None


class MovieRowList(list):
    """A search's rows (a plain list of ``MovieRow``) plus what a table sizes its columns by, so it
    need not visit each of 59k rows a keystroke: the largest rating count among them and the
    user's distinct ratings among them."""

    def __init__(self, rows, max_count: int, rated: frozenset[float]) -> None:
        super().__init__(rows)
        self.max_count = max_count
        self.rated = rated


@dataclass(frozen=True)
class SimilarItem:
    item_id: int
    title: str
    similarity: float


@dataclass(frozen=True)
class SimilarList:
    item_id: int
    items: list[SimilarItem]
    timings: Timings


@dataclass(frozen=True)
class UserSummary:
    """A row of the login table."""

    user_id: int
    age: int | None
    gender: str
    occupation: str
    n_ratings: int
    top_genres: tuple[str, ...]
    new: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    event_id: int
    item_id: int
    title: str
    kind: str
    rating: float | None
    ts: int


@dataclass(frozen=True)
class Profile:
    """A user's counts, top genres and recent logged events (newest first)."""

    user_id: int
    n_train_ratings: int
    counts: dict[str, int]
    top_genres: list[tuple[str, int]]
    recent: list[HistoryEntry]
    degraded: str | None = None

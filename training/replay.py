"""Prequential (test-then-learn) replay through the real engine (docs/METHOD.md §6).

1. The first ``train_fraction`` of the home's ratings by time become a *training-period dataset*,
   cached into a temporary home (all movies and users, only the ratings before the cut, so no
   statistic — catalogue counts, seeded popularity — can see the future). The batch model is
   trained and published there by the ordinary pipeline.
2. One ``Engine`` (event log + feature store + fold-in + index) is opened on that home. The rest of
   the ratings are walked in time order; for every event (u, i, r, t):
   each strategy recommends 10 for u (scored *before* the event is recorded; a hit if i is among
   them), then the event is recorded once with ``engine.record(u, i, "rating", r, ts=t)`` — so the
   log and the store receive every event — and the replay's own online scorers are updated.
3. HR@10 overall, for new users (no training ratings) and returning users; µs per event; moving
   window curves.

All strategies score against the same engine state, so one engine serves them all and every event
is logged exactly once. The replayed events are *online* events for the engine: with ALS the fold-in
weights each by its recency (``online_weight``/``online_decay``, docs/METHOD.md §1), exactly as for a
person using the app; the batch model trained on the first part has none. ``us_per_event`` is the
strategy's own work per event (scoring plus its online update) plus, for every strategy that learns,
the shared cost of ``engine.record``; the frozen strategy learns nothing and pays only its scoring.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.cache import write_cache
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.splits import temporal_split
from recsys_tui.models.base import top_k
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.training.online import (
    BLEND_PARAMS,
    EASE_PARAMS,
    TRANSITION_PARAMS,
    DecayedPopularity,
    OnlineEASE,
    OnlineTransitions,
    blend,
)
from recsys_tui.training.pipeline import train

K = 10
STRATEGIES: dict[str, str] = {
    "frozen": "batch model, never updated; users unseen in training get static training popularity",
    "popularity": "online counts from the feature store (engine.popular_items)",
    "foldin": "the product path: engine.recommend (exact ALS fold-in after every event)",
    "ease": "online EASE: recency-decayed history × B, one row of B per rating",
    "transitions": "online sequential co-occurrence of the user's latest items",
    "blend": "z-scored fold-in + EASE + transitions + a fading popularity prior",
    "frozen_nofallback": "context only: frozen, but users unseen in training get no list",
}
DEFAULT_STRATEGIES = ("frozen", "popularity", "foldin", "ease", "transitions", "blend",
                      "frozen_nofallback")
REPLAY_ALS_PARAMS = {"bm25": False, "user_idf": False, "alpha": 1.0, "negative_below": 2.0,
                     "negative_weight": 1.0, "regularization": 30.0, "iterations": 30,
                     "online_weight": 1.0, "online_decay": 1.0}
"""ALS parameters chosen for the replay on the training-period validation stream (first 64,000
ratings fit, next 16,000 replayed) among four candidates: product defaults, regularization 67.5, and
these with regularization 30 or 60. Confidence = stars, ratings ≤ 2 carry no preference (|c| = 1),
no online weighting (they predate it; docs/METHOD.md §9 compares them with today's defaults).
Use them with ``run_replay(..., model="als", params=REPLAY_ALS_PARAMS)`` or ``replay -p key=value``."""
LEARNS = {"popularity", "foldin", "ease", "transitions", "blend"}


class ReplayError(RecsysError):
    """A replay request that cannot run (unknown strategy, bad fraction, nothing to replay)."""


@dataclass
class ReplayRow:
    """One strategy's result."""

    strategy: str
    hr_at_10: float
    hr_new: float
    hr_returning: float
    us_per_event: float
    events: int
    hits: int
    score_us: float
    description: str


@dataclass
class ReplayReport:
    """Every strategy's row and moving-window curve, plus how the run was set up."""

    rows: list[ReplayRow]
    curves: dict[str, list[tuple[int, float]]]
    events: int
    n_new_events: int
    n_returning_events: int
    train_fraction: float
    window: int
    n_train: int
    model: str
    model_params: dict
    online_params: dict
    record_us_per_event: float
    setup_s: float
    elapsed_s: float
    log_events: int
    store_watermark: int
    store_events: int
    extra: dict = field(default_factory=dict)

    def row(self, strategy: str) -> ReplayRow | None:
        return next((r for r in self.rows if r.strategy == strategy), None)

    def ratio(self, a: str, b: str) -> float | None:
        ra, rb = self.row(a), self.row(b)
        if ra is None or rb is None or rb.hr_at_10 == 0:
            return None
        return ra.hr_at_10 / rb.hr_at_10

    def to_json(self) -> dict:
        ratios = {f"{a}/{b}": self.ratio(a, b) for a in ("foldin", "ease", "blend")
                  for b in ("popularity", "frozen") if self.ratio(a, b) is not None}
        return {
            "events": self.events,
            "n_new_events": self.n_new_events,
            "n_returning_events": self.n_returning_events,
            "k": K,
            "train_fraction": self.train_fraction,
            "window": self.window,
            "n_train_ratings": self.n_train,
            "model": self.model,
            "model_params": self.model_params,
            "online_params": self.online_params,
            "record_us_per_event": self.record_us_per_event,
            "setup_s": self.setup_s,
            "elapsed_s": self.elapsed_s,
            "engine_path": {"log_events": self.log_events, "store_watermark": self.store_watermark,
                            "store_events": self.store_events},
            "strategies": {
                r.strategy: {"hr_at_10": r.hr_at_10, "hr_new": r.hr_new, "hr_returning": r.hr_returning,
                             "us_per_event": r.us_per_event, "score_us": r.score_us, "hits": r.hits,
                             "events": r.events, "description": r.description}
                for r in self.rows
            },
            "ratios": ratios,
            "curves": {s: [[n, h] for n, h in c] for s, c in self.curves.items()},
            **self.extra,
        }


def parse_strategies(text: str | list[str] | None) -> list[str]:
    """A validated list of strategy names (default: all of them)."""
    if text is None:
        return list(DEFAULT_STRATEGIES)
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown:
        raise ReplayError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    if not names:
        raise ReplayError("no strategy given")
    return list(dict.fromkeys(names))


def home_model(home: Home) -> tuple[str, dict]:
    """The model name and parameters the home currently publishes (``als`` defaults if none)."""
    version = artifacts.current_version(home.artifacts) if home.artifacts.is_dir() else None
    if version is None:
        return "als", {}
    manifest = artifacts.read_manifest(home.artifacts / version)
    return str(manifest.get("model", "als")), dict(manifest.get("params") or {})


def training_period_dataset(dataset: Dataset, train_fraction: float) -> tuple[Dataset, Dataset]:
    """(training-period dataset with every movie and user, the later events as a dataset)."""
    if not 0 < train_fraction < 1:
        raise ReplayError(f"train fraction must be between 0 and 1 (exclusive), got {train_fraction}")
    past, future = temporal_split(dataset.interactions, train_fraction)
    source = f"{dataset.source}, first {train_fraction:g} by time"
    return (Dataset(past, dataset.movies, dataset.users, source=source, info=dataset.info),
            Dataset(future, dataset.movies, dataset.users, source="replay stream"))


class _Window:
    def __init__(self, window: int) -> None:
        self.window = window
        self.buf: list[bool] = []
        self.total = 0

    def add(self, hit: bool) -> None:
        self.buf.append(hit)
        self.total += hit
        if len(self.buf) > self.window:
            self.total -= self.buf[len(self.buf) - self.window - 1]

    def rate(self) -> float:
        n = min(len(self.buf), self.window)
        return self.total / n if n else 0.0


def run_replay(home: Home, strategies: list[str] | None = None, train_fraction: float = 0.8,
               limit: int | None = None, window: int = 1000,
               on_point: Callable[[str, int, float], None] | None = None, seed: int = 0, *,
               model: str | None = None, params: dict | None = None,
               workdir: Path | None = None, online: dict[str, dict] | None = None) -> ReplayReport:
    """Train on the first part by time, then test-then-learn through the engine (module doc).

    ``model``/``params`` default to what ``home`` publishes; ``seed`` sets the batch model's
    ``random_state`` when it has one. ``on_point(strategy, events_done, hr_last_window)`` is called
    every ``max(1, window // 4)`` events and once at the end. ``online`` overrides the replay's
    own online scorers' parameters by group (``online_groups``; ``recsys-tui tune --online``).
    """
    names = parse_strategies(strategies)
    groups = online_groups(online)
    if window < 1:
        raise ReplayError(f"window must be ≥ 1, got {window}")
    if limit is not None and limit < 1:
        raise ReplayError(f"limit must be ≥ 1, got {limit}")
    t_setup = time.perf_counter()
    dataset = load_dataset(home.data, home.dataset)
    past, future = training_period_dataset(dataset, train_fraction)
    stream = future.interactions
    n = len(stream) if limit is None else min(limit, len(stream))
    if n == 0 or len(past.interactions) == 0:
        raise ReplayError("nothing to replay: the split leaves an empty training or replay part")
    if model is None:
        model, home_params = home_model(home)
        params = home_params if params is None else params
    params = dict(params or {})
    from recsys_tui.models.registry import model_class

    if "random_state" in model_class(model).defaults:
        params["random_state"] = int(seed)
    with tempfile.TemporaryDirectory(prefix="recsys-replay-", dir=workdir) as tmp:
        temp_home = Home(Path(tmp) / "home").ensure()
        write_cache(temp_home.data, past)
        result = train(temp_home, model, params, use_log=False, index="flat",
                       info={"replay": {"train_fraction": train_fraction}})
        engine = Engine.open(temp_home)
        try:
            return _walk(engine, past, stream, n, names, window, on_point, t_setup, model,
                         result.params, train_fraction, groups)
        finally:
            engine.close()


def online_groups(overrides: dict[str, dict] | None = None) -> dict[str, dict]:
    """The online scorers' parameters (``ease``, ``transitions``, ``blend``) with ``overrides``."""
    base = {"ease": EASE_PARAMS, "transitions": TRANSITION_PARAMS, "blend": BLEND_PARAMS}
    out = {group: dict(values) for group, values in base.items()}
    for group, values in (overrides or {}).items():
        if group not in base:
            raise ReplayError(f"unknown online scorer {group!r}; choose from {', '.join(base)}")
        unknown = sorted(set(values) - set(base[group]))
        if unknown:
            raise ReplayError(f"{group} has no parameter {unknown[0]!r} (known: {', '.join(base[group])})")
        out[group].update(values)
    return out


def _walk(engine: Engine, past: Dataset, stream, n: int, names: list[str], window: int,
          on_point, t_setup: float, model: str, model_params: dict, train_fraction: float,
          groups: dict[str, dict]) -> ReplayReport:
    train_inter = past.interactions
    items = engine.items.ids
    item_index = {int(i): j for j, i in enumerate(items)}
    n_items = len(items)
    need_ease = bool({"ease", "blend"} & set(names))
    need_trans = bool({"transitions", "blend"} & set(names))
    ease = trans = pop = None
    if need_ease:
        ease_p = groups["ease"]
        fitted = TrainedModel.fit("ease", train_inter, item_ids=items, l2=ease_p["l2"], scheme="binary")
        ease = OnlineEASE(fitted.model.arrays()["B"], train_inter, item_index, ease_p["negative_max"],
                          ease_p["negative_weight"], ease_p["decay"])
    if need_trans:
        trans = OnlineTransitions(n_items, train_inter, item_index, **groups["transitions"])
    blend_p = groups["blend"]
    if "blend" in names:
        pop = DecayedPopularity(n_items, train_inter, item_index, blend_p["pop_tau_days"])
    n_user: dict[int, int] = {}
    for u in train_inter.user_ids.tolist():
        n_user[u] = n_user.get(u, 0) + 1
    trained = engine.trained
    frozen_cache: dict[int, set[int]] = {}
    static_popular = {int(items[j]) for j in top_k(trained.popularity, K)}

    def frozen(u: int, fallback: bool) -> set[int]:
        """Precomputed batch lists (training items excluded); unknown users: static popularity."""
        recs = frozen_cache.get(u)
        if recs is None:
            known = trained.users.index(u) is not None
            recs = frozen_cache[u] = {i for i, _ in trained.recommend(u, K)} if known else set()
        return recs if recs or not fallback else static_popular

    def top(scores: np.ndarray, u: int) -> set[int]:
        seen, _ = engine.user_arrays(u)
        return set(items[top_k(scores, K, exclude=seen)].tolist())

    def blend_scores(u: int) -> np.ndarray:
        vec = engine.embedding(u)
        fold = engine.model.item_factors @ vec if vec is not None and np.any(vec) else None
        parts = [(fold, blend_p["w_foldin"]),
                 (ease.scores(u) if ease.ready(u) else None, blend_p["w_ease"]),
                 (trans.scores(u) if trans.ready(u) else None, blend_p["w_trans"])]
        return blend(parts, pop.scores(), n_user.get(u, 0), blend_p["pop_w"], blend_p["n0"])

    scorers: dict[str, Callable[[int], set[int]]] = {
        "frozen": lambda u: frozen(u, True),
        "frozen_nofallback": lambda u: frozen(u, False),
        "popularity": lambda u: {i for i, _ in engine.popular_items(u, K)},
        "foldin": lambda u: {r.item_id for r in engine.recommend(u, K).items},
        "ease": lambda u: top(ease.scores(u) if ease.ready(u) else pop_fallback(u), u),
        "transitions": lambda u: top(trans.scores(u) if trans.ready(u) else pop_fallback(u), u),
        "blend": lambda u: top(blend_scores(u), u),
    }

    def pop_fallback(u: int) -> np.ndarray:
        scores = np.zeros(n_items)
        for i, c in engine.popular_items(u, K):
            scores[item_index[i]] = c
        return scores

    train_users = set(train_inter.user_ids.tolist())
    users = stream.user_ids[:n].tolist()
    its = stream.item_ids[:n].tolist()
    ratings = stream.ratings[:n].tolist()
    stamps = stream.timestamps[:n].tolist()
    hits = {s: np.zeros(n, dtype=bool) for s in names}
    cost_ns = dict.fromkeys(names, 0)
    score_ns = dict.fromkeys(names, 0)
    record_ns = 0
    record_steps: dict[str, float] = {}
    windows = {s: _Window(window) for s in names}
    curves: dict[str, list[tuple[int, float]]] = {s: [] for s in names}
    step = max(1, window // 4)
    is_new = np.array([u not in train_users for u in users], dtype=bool)
    setup_s = time.perf_counter() - t_setup
    clock = time.perf_counter_ns

    def learn(update, args: tuple, *strategies: str) -> None:
        """Run one online model's update; charge its cost to every strategy that uses it."""
        t0 = clock()
        update(*args)
        dt = clock() - t0
        for s in strategies:
            if s in cost_ns:
                cost_ns[s] += dt

    t_walk = time.perf_counter()
    for e in range(n):
        u, i, r, ts = users[e], its[e], ratings[e], stamps[e]
        for s in names:
            t0 = clock()
            recs = scorers[s](u)
            dt = clock() - t0
            score_ns[s] += dt
            hit = i in recs
            hits[s][e] = hit
            windows[s].add(hit)
        t0 = clock()
        result = engine.record(u, i, "rating", r, ts=int(ts), with_before=False)
        record_ns += clock() - t0
        for step_name, ms in result.timings.steps.items():
            record_steps[step_name] = record_steps.get(step_name, 0.0) + ms
        n_user[u] = n_user.get(u, 0) + 1
        if ease is not None:
            learn(ease.update, (u, i, r), "ease", "blend")
        if trans is not None:
            learn(trans.update, (u, i, r), "transitions", "blend")
        if pop is not None:
            learn(pop.update, (i, ts), "blend")
        done = e + 1
        if done % step == 0 or done == n:
            for s in names:
                point = (done, windows[s].rate())
                curves[s].append(point)
                if on_point is not None:
                    on_point(s, done, point[1])
    elapsed = time.perf_counter() - t_walk
    record_us = record_ns / n / 1e3
    rows = []
    for s in names:
        h = hits[s]
        own = (score_ns[s] + cost_ns[s]) / n / 1e3
        rows.append(ReplayRow(
            s, float(h.mean()),
            float(h[is_new].mean()) if is_new.any() else float("nan"),
            float(h[~is_new].mean()) if (~is_new).any() else float("nan"),
            own + (record_us if s in LEARNS else 0.0), n, int(h.sum()), score_ns[s] / n / 1e3,
            STRATEGIES[s]))
    popularity = engine.store.popularity()
    store_events = round(sum(popularity.values())) - len(train_inter)
    online = {"ease": groups["ease"] if need_ease else None,
              "transitions": groups["transitions"] if need_trans else None,
              "blend": blend_p if "blend" in names else None,
              "tuned_on": "validation part of the training period (first 80% of the 80% by time)"}
    return ReplayReport(rows, curves, n, int(is_new.sum()), int((~is_new).sum()), train_fraction, window,
                        len(train_inter), model, model_params, online, record_us, setup_s, elapsed,
                        engine.log.count(), engine.store.watermark(), store_events,
                        {"record_steps_us": {k: 1e3 * v / n for k, v in record_steps.items()}})

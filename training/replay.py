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
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.cache import write_cache
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.splits import temporal_split
from recsys_tui.training.online import BLEND_PARAMS, EASE_PARAMS, TRANSITION_PARAMS
from recsys_tui.training.pipeline import train
from recsys_tui.training.replay_report import LEARNS, STRATEGIES, K, ReplayReport, ReplayRow
from recsys_tui.training.replay_walk import walk

__all__ = [
    "DEFAULT_STRATEGIES",
    "LEARNS",
    "REPLAY_ALS_PARAMS",
    "STRATEGIES",
    "K",
    "ReplayError",
    "ReplayReport",
    "ReplayRow",
    "home_model",
    "online_groups",
    "parse_strategies",
    "run_replay",
    "training_period_dataset",
]

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
class ReplayError(RecsysError):
    """A replay request that cannot run (unknown strategy, bad fraction, nothing to replay)."""


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
            return walk(engine, past, stream, n, names, window, on_point, t_setup, model,
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

"""Train → (evaluate) → publish: the batch side of the product."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import artifacts
from core.event_log import EventLog
from core.home import Home
from data.errors import DataError
from data.fetch import load as load_dataset
from data.movielens import Dataset, Interactions
from data.parsers import parse_interactions_text
from models.bundle import TrainedModel

Step = Callable[[str], None]
"""Told the name of each stage as it starts (for progress displays)."""


@dataclass
class TrainResult:
    version: str
    model: str
    params: dict
    n_ratings: int
    n_logged: int
    timings: dict[str, float]


def read_ratings_file(path: Path) -> Interactions:
    """A user-supplied CSV/TSV (header ``user_id,item_id,rating,timestamp``) or ``u.data`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    return parse_interactions_text(text, path.name)


def logged_ratings(log: EventLog) -> Interactions:
    """Every rating in the event log that was not undone (latest per pair wins downstream)."""
    events = [e for e in log.events() if e.kind == "rating"]
    return Interactions.from_arrays([e.user_id for e in events], [e.item_id for e in events],
                                    [e.rating for e in events], [e.ts for e in events])


def training_data(dataset: Dataset, log: EventLog | None, ratings_file: Path | None) -> tuple[
        Interactions, int]:
    base = read_ratings_file(ratings_file) if ratings_file else dataset.interactions
    if ratings_file is not None:
        unknown = np.setdiff1d(base.item_ids, np.array(sorted(dataset.movies)))
        if len(unknown):
            raise DataError(f"{ratings_file}: item id {int(unknown[0])} is not in the MovieLens "
                            f"catalogue ({len(unknown)} unknown item ids)")
    logged = logged_ratings(log) if log is not None else Interactions.from_arrays([], [], [], [])
    return Interactions.concat([base, logged]), len(logged)


def train(home: Home, model: str = "als", params: dict | None = None, *,
          ratings_file: Path | None = None, index: str = "flat", use_log: bool = True,
          step: Step | None = None, info: dict | None = None) -> TrainResult:
    """Fit ``model`` on ML-100K (or ``ratings_file``) plus logged ratings; publish atomically."""
    step = step or (lambda _name: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("load")
    home.ensure()
    dataset = load_dataset(home.data)
    log = EventLog(home.event_log) if use_log else None
    try:
        inter, n_logged = training_data(dataset, log, ratings_file)
    finally:
        if log is not None:
            log.close()
    timings["load_s"] = time.perf_counter() - t0
    step("fit")
    t1 = time.perf_counter()
    trained = TrainedModel.fit(model, inter, item_ids=np.array(sorted(dataset.movies)), **(params or {}))
    timings["fit_s"] = time.perf_counter() - t1
    step("publish")
    t2 = time.perf_counter()
    meta = {
        "data": {"source": dataset.source, "content_hash": dataset.content_hash,
                 "ratings_file": str(ratings_file) if ratings_file else None,
                 "n_ratings": len(inter), "n_logged_ratings": n_logged},
        **(info or {}),
    }
    timings["publish_s"] = 0.0
    meta["timings"] = timings
    version = artifacts.publish(home.artifacts, trained, index_kind=index, info=meta)
    timings["publish_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    return TrainResult(version, model, trained.model.params, len(inter), n_logged, timings)

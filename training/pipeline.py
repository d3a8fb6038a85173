"""Train → (evaluate) → publish: the batch side of the product."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from recsys_tui.common.errors import DataError, RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.home import Home
from recsys_tui.core.log_open import open_event_log
from recsys_tui.data.bounded import MAX_RATINGS_BYTES, human, memory_estimate, open_regular
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.data.movielens import Dataset, Interactions
from recsys_tui.data.parsers import parse_interactions_lines
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.bundle import TrainedModel, build_matrix
from recsys_tui.models.registry import create
from recsys_tui.training.gate import gate

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


LARGE_INPUT_BYTES = 16 << 20
"""From this size on, the memory a ratings file will need is said before it is read."""


def read_ratings_file(path: Path, say: Step | None = None) -> Interactions:
    """A user-supplied CSV/TSV (header ``user_id,item_id,rating,timestamp``) or ``u.data`` file.

    Only a regular file up to ``MAX_RATINGS_BYTES`` is taken; it is validated line by line as it is
    read (a bad line stops the read there), never loaded whole.
    """
    with open_regular(path, MAX_RATINGS_BYTES, "ratings file") as (fh, size):
        if size >= LARGE_INPUT_BYTES and say is not None:
            say(f"reading {path.name}: {human(size)}, needs about {human(memory_estimate(size))} of memory")
        lines = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        try:
            return parse_interactions_lines(lines, path.name)
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def logged_ratings(log: EventLog) -> Interactions:
    """Every rating in the event log that was not undone (latest per pair wins downstream)."""
    events = [e for e in log.events() if e.kind == "rating"]
    return Interactions.from_arrays([e.user_id for e in events], [e.item_id for e in events],
                                    [e.rating for e in events], [e.ts for e in events])


@dataclass
class Logged:
    """The event log's contribution to training: its ratings, and every logged (user, item) pair's
    recency — how many of that user's logged items are newer (the engine's definition)."""

    ratings: Interactions
    recency: dict[tuple[int, int], int]

    def __len__(self) -> int:
        return len(self.ratings)


def logged_history(log: EventLog) -> Logged:
    """Logged ratings plus recencies, counted over every kind of event that was not undone."""
    order: dict[int, list[int]] = {}
    for e in log.events():
        items = order.setdefault(e.user_id, [])
        if e.item_id in items:
            items.remove(e.item_id)
        items.append(e.item_id)
    recency = {(u, i): len(items) - 1 - n for u, items in order.items() for n, i in enumerate(items)}
    return Logged(logged_ratings(log), recency)


def entry_recency(train: sp.csr_matrix, recency: dict[tuple[int, int], int], users: IdMap,
                  items: IdMap) -> np.ndarray:
    """One int per stored entry of ``train`` (aligned with ``train.data``): −1 unless logged."""
    out = np.full(train.nnz, -1, dtype=np.int64)
    for (u, i), k in recency.items():
        row, col = users.index(u), items.index(i)
        if row is None or col is None:
            continue
        lo, hi = train.indptr[row], train.indptr[row + 1]
        at = lo + np.searchsorted(train.indices[lo:hi], col)
        if at < hi and train.indices[at] == col:
            out[at] = k
    return out


def fit_model(model: str, inter: Interactions, item_ids: np.ndarray, params: dict,
              logged: Logged | None = None) -> TrainedModel:
    """Fit ``model`` on ``inter``; logged (online) ratings carry their recencies, which a model that
    ``weighs_online_recency`` uses exactly as in its fold-in (the others ignore them)."""
    users, items = IdMap.from_ids(inter.user_ids), IdMap.from_ids(item_ids)
    train = build_matrix(inter, users, items)
    recency = entry_recency(train, logged.recency, users, items) if logged is not None and len(logged) \
        else None
    fitted = create(model, **params).fit(train, recency)
    popularity = np.bincount(train.indices, minlength=len(items)).astype(np.float32)
    return TrainedModel(fitted, users, items, train, popularity)


def training_data(dataset: Dataset, log: EventLog | None, ratings_file: Path | None,
                  say: Step | None = None) -> tuple[Interactions, Logged]:
    """(everything to train on, the event log's ratings among it with their recencies)."""
    base = read_ratings_file(ratings_file, say) if ratings_file else dataset.interactions
    if ratings_file is not None:
        unknown = np.setdiff1d(base.item_ids, np.array(sorted(dataset.movies)))
        if len(unknown):
            raise DataError(f"{ratings_file}: item id {int(unknown[0])} is not in the MovieLens "
                            f"catalogue ({len(unknown)} unknown item ids)")
    logged = logged_history(log) if log is not None \
        else Logged(Interactions.from_arrays([], [], [], []), {})
    return Interactions.concat([base, logged.ratings]), logged


def _current(home: Home) -> tuple[TrainedModel | None, str | None]:
    """The live model the gate compares with (none, or unloadable: nothing to compare)."""
    try:
        artifact = artifacts.load(home.artifacts)
    except RecsysError:
        return None, None
    return artifact.trained, artifact.version


def train(home: Home, model: str = "als", params: dict | None = None, *,
          ratings_file: Path | None = None, index: str = "flat", use_log: bool = True,
          step: Step | None = None, info: dict | None = None, engine: str = "implicit",
          spark_master: str | None = None, make_current: bool = True,
          log_url: str | None = None) -> TrainResult:
    """Fit ``model`` on the home's data set (or ``ratings_file``) plus logged ratings; publish atomically.

    ``engine="spark"`` trains ALS with Spark MLlib (``training.spark_als``) on ``spark_master``.
    ``make_current`` False publishes the version without making it the home's default (a model
    tried in one app session). ``step(stage)`` may raise to stop before the next stage.
    """
    step = step or (lambda _name: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    step("load")
    home.ensure()
    dataset = load_dataset(home.data, home.dataset)
    log = open_event_log(home.event_log, log_url) if use_log else None
    try:
        inter, logged = training_data(dataset, log, ratings_file, step)
        n_logged = len(logged)
    finally:
        if log is not None:
            log.close()
    timings["load_s"] = time.perf_counter() - t0
    step("fit")
    t1, cpu1 = time.perf_counter(), time.process_time()
    item_ids = np.array(sorted(dataset.movies))
    spark_info: dict = {}  # which BLAS Spark ran on, its block count: kept in the manifest
    if engine == "spark":
        from recsys_tui.training.spark_als import DEFAULT_MASTER, fit_spark

        recency_of = (lambda t, u, i: entry_recency(t, logged.recency, u, i)) if len(logged) else None
        spark_info["master"] = spark_master or DEFAULT_MASTER
        trained = fit_spark(inter, item_ids, params or {}, recency_of, spark_master or DEFAULT_MASTER,
                            timings, info=spark_info)
    else:
        trained = fit_model(model, inter, item_ids, params or {}, logged)
    timings["fit_s"] = time.perf_counter() - t1
    timings["fit_cpu_s"] = time.process_time() - cpu1  # every thread of the process
    if engine != "spark":
        timings.update(trained.model.fit_timings())  # ALS: its sweeps and re-solve
    step("check")
    report = gate(trained, *_current(home))
    step("publish")
    t2 = time.perf_counter()
    meta = {
        "data": {"source": dataset.source, "content_hash": dataset.content_hash,
                 "ratings_file": str(ratings_file) if ratings_file else None,
                 "n_ratings": len(inter), "n_logged_ratings": n_logged,
                 "dataset": home.dataset, "synthetic": bool(dataset.info.get("synthetic", False))},
        "engine": engine,
        **({"spark": spark_info} if engine == "spark" else {}),
        "gate": report.to_json(),
        **(info or {}),
    }
    version = artifacts.publish(home.artifacts, trained, index_kind=index, info=meta,
                                timings=dict(timings), started=t0, make_current=make_current)
    timings["publish_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    return TrainResult(version, model, trained.model.params, len(inter), n_logged, timings)

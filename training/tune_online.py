"""Online weighting and replay parameters, searched on the training-period validation stream.

The test events of the prequential replay (the last 20% of the ratings by time) are never looked
at. The first ``TRAIN_FRACTION`` of the ratings by time form the *training period*; it is split
again by time at ``TRAIN_FRACTION``: the batch model is fitted on the first part (64,000 ML-100K
ratings) and the next part (16,000) is replayed test-then-learn through the real engine, exactly as
``recsys-tui replay`` does on the test events (``training.replay.run_replay``). Every grid point is
one such replay; the table ranks them by one strategy's HR@10 (``foldin`` by default: the product
path, whose online weighting is ``online_weight``/``online_decay``).

Grid keys are either parameters of the batch model (``online_weight``, ``online_decay``,
``regularization``, … checked against its typed parameters) or ``GROUP.KEY`` parameters of the
replay's own online scorers (``ease.decay``, ``transitions.decay_l``, ``blend.w_ease``, …).
"""

from __future__ import annotations

import itertools
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.home import Home
from recsys_tui.data.cache import write_cache
from recsys_tui.data.movielens import Dataset
from recsys_tui.models.params import check_params
from recsys_tui.models.registry import model_class
from recsys_tui.training.replay import online_groups, run_replay, training_period_dataset
from recsys_tui.training.search import SearchResult

TRAIN_FRACTION = 0.8
"""The replay's split: the training period is the first 80% by time, and is split the same way."""
DEFAULT_ONLINE_GRID: dict[str, list[Any]] = {
    "online_weight": [1.0, 16.0, 64.0, 128.0],
    "online_decay": [1.0, 0.9, 0.7],
}
"""``recsys-tui tune --online``'s default: online weight × decay for the fold-in (weight 1 is
searched once: with it the decay has no effect)."""
SCORER_STRATEGIES = ("popularity", "foldin", "ease", "transitions", "blend")


class TuneOnlineError(RecsysError):
    """A grid the online search cannot run (unknown key, bad value, empty grid)."""

    exit_code = 2


@dataclass
class OnlineRow:
    """One grid point's validation replay."""

    params: dict[str, Any]
    hr: dict[str, float]
    hr_new: float
    hr_returning: float
    seconds: float


@dataclass(kw_only=True)
class OnlineTuneResult(SearchResult[OnlineRow]):
    """Every grid point and the winner by ``metric`` (a strategy's HR@10)."""

    n_events: int
    n_new_events: int

    def score(self, row: OnlineRow) -> tuple[float, ...]:
        return (row.hr[self.metric],)

    def table(self) -> list[dict[str, Any]]:
        """Rows best first: the searched values, HR@10 per strategy, the metric's new/returning
        split, its ratio to online popularity, and the seconds the replay took."""
        out = []
        for r in self.ranked():
            pop = r.hr.get("popularity")
            out.append({**r.params, **{f"{s} HR@10": v for s, v in r.hr.items()},
                        "new": r.hr_new, "returning": r.hr_returning,
                        f"{self.metric}/popularity": r.hr[self.metric] / pop if pop else float("nan"),
                        "seconds": r.seconds})
        return out

    def to_json(self) -> dict:
        return {"model": self.model, "metric": self.metric, "protocol": {
            "training_period": f"first {TRAIN_FRACTION:g} of the ratings by time",
            "fit": f"first {TRAIN_FRACTION:g} of the training period by time",
            "validation_stream": "the rest of the training period, replayed test-then-learn",
            "n_fit_ratings": self.n_fit, "n_validation_events": self.n_events,
            "n_new_user_events": self.n_new_events},
            "elapsed_s": self.elapsed_s, "best_params": self.best.params, "rows": self.table()}


def parse_grid(model: str, specs: list[str]) -> dict[str, list[Any]]:
    """``key=v1,v2,…`` specs → a grid; model keys are checked against the model's typed
    parameters, ``GROUP.KEY`` against the replay's online scorers (values are numbers)."""
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise TuneOnlineError(f"--grid expects key=v1,v2,…, got {spec!r}")
        values = [_value(v) for v in (x.strip() for x in raw.split(",")) if v]
        if not values:
            raise TuneOnlineError(f"--grid {key}: no values")
        grid[key] = values
    _check_grid(model, grid)
    return grid


def _value(text: str) -> Any:
    """``true``/``false``, an int, a float, else the text (the parameter check decides)."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _split_point(point: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict]]:
    params: dict[str, Any] = {}
    online: dict[str, dict] = {}
    for key, value in point.items():
        group, dot, name = key.partition(".")
        if dot:
            online.setdefault(group, {})[name] = value
        else:
            params[key] = value
    return params, online


def _check_grid(model: str, grid: dict[str, list[Any]]) -> None:
    cls = model_class(model)
    for point in _points(grid):
        params, online = _split_point(point)
        check_params(model, cls.Params, params)
        bad = [f"{g}.{k}={v!r}" for g, values in online.items() for k, v in values.items()
               if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0]
        if bad:
            raise TuneOnlineError(f"--grid {bad[0]}: online scorer parameters are numbers ≥ 0")
        try:
            online_groups(online)
        except RecsysError as exc:
            raise TuneOnlineError(f"--grid: {exc}") from None
        if "l2" in online.get("ease", {}):  # the replay fits an EASE with it: the model's bounds
            check_params("ease", model_class("ease").Params, {"l2": online["ease"]["l2"]})


def _points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination; with ``online_weight`` 1 the decay is irrelevant, so it is kept once."""
    keys = list(grid)
    points, seen = [], set()
    for values in itertools.product(*grid.values()):
        point = dict(zip(keys, values, strict=True))
        if point.get("online_weight") == 1 and "online_decay" in point:
            point["online_decay"] = 1.0
        key = tuple(sorted((k, repr(v)) for k, v in point.items()))
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


def plan(model: str, grid: dict[str, list[Any]], metric: str | None = None) -> tuple[list[str], str]:
    """(strategies to replay, the ranking strategy) for ``grid``; refuses a bad grid or metric."""
    if not grid:
        raise TuneOnlineError("the grid is empty")
    _check_grid(model, grid)
    scorer_keys = any("." in key for key in grid)
    strategies = list(SCORER_STRATEGIES) if scorer_keys else ["popularity", "foldin"]
    metric = metric or ("blend" if scorer_keys else "foldin")
    if metric not in strategies:
        raise TuneOnlineError(f"metric {metric!r} is not replayed here; choose from {', '.join(strategies)}")
    return strategies, metric


def tune_online(dataset: Dataset, grid: dict[str, list[Any]], *, model: str = "als",
                base_params: dict[str, Any] | None = None, metric: str | None = None,
                limit: int | None = None, seed: int = 0, workdir: Path | None = None,
                on_row: Callable[[OnlineRow], None] | None = None) -> OnlineTuneResult:
    """Replay the training-period validation stream once per grid point (module doc)."""
    strategies, metric = plan(model, grid, metric)
    start = time.perf_counter()
    period, _test = training_period_dataset(dataset, TRAIN_FRACTION)
    result: OnlineTuneResult | None = None
    with tempfile.TemporaryDirectory(prefix="recsys-tune-online-", dir=workdir) as tmp:
        home = Home(Path(tmp) / "home").ensure()
        write_cache(home.data, period)
        for point in _points(grid):
            params, online = _split_point(point)
            t0 = time.perf_counter()
            report = run_replay(home, strategies, TRAIN_FRACTION, limit, seed=seed, model=model,
                                params={**(base_params or {}), **params}, online=online,
                                workdir=Path(tmp))
            row_of = {r.strategy: r for r in report.rows}
            row = OnlineRow(point, {s: row_of[s].hr_at_10 for s in strategies},
                            row_of[metric].hr_new, row_of[metric].hr_returning,
                            time.perf_counter() - t0)
            if result is None:
                result = OnlineTuneResult(model=model, metric=metric, n_fit=report.n_train,
                                          n_events=report.events, n_new_events=report.n_new_events)
            result.rows.append(row)
            if on_row is not None:
                on_row(row)
    if result is None:
        raise TuneOnlineError("the grid has no point")
    result.elapsed_s = time.perf_counter() - start
    return result

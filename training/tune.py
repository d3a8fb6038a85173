"""Hyper-parameter search on a validation split carved from the training part only.

The protocol's split (stratified 75/25 with ``seed``) is made first and its test part is thrown
away unseen; the training part is split again per user (75/25, seeds ``seed + VALIDATION_OFFSET``,
``+1``, … for ``repeats`` carvings) into a fitting part and a validation part. Every candidate is
fitted on each fitting part and scored on its validation part with the same metrics as
``recsys-tui eval``; the metrics are averaged over the carvings (one carving is too noisy to
separate close candidates). The test part is used once, later, by ``eval`` with the winning values
(which are the code defaults).

Search: the full grid when it is small (≤ ``FULL_GRID_MAX`` points), else coordinate descent from
the model's defaults (one parameter at a time over its values, repeated until a pass changes
nothing or ``passes`` is reached).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.splits import stratified_split
from recsys_tui.models.registry import model_class
from recsys_tui.training.evaluate import evaluate_split, split
from recsys_tui.training.search import SearchResult

VALIDATION_OFFSET = 1000
"""The validation split's seed is the protocol seed plus this (fixed, so tuning is reproducible)."""
FULL_GRID_MAX = 24

DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "als": {
        "regularization": [45.0, 67.5, 90.0],
        "alpha": [0.6, 0.9, 1.35],
        "user_idf": [True, False],
        "negative_below": [1.0, 2.0],  # ≥ 1 is a product rule: a 1-star rating never promotes
    },
    "ease": {"scheme": ["binary", "rating"], "l2": [250.0, 500.0, 1000.0, 3000.0, 7000.0]},
    "hybrid": {
        "als_weight": [1.5, 3.0, 5.0, 8.0],
        "candidates": [100, 200, 400],
        "ease_l2": [10000.0, 30000.0, 60000.0, 120000.0],
    },
}
"""Short default grids (``recsys-tui tune --model NAME``); each finishes in well under 3 minutes."""


@dataclass
class TuneRow:
    """One candidate's validation scores."""

    params: dict[str, Any]
    metrics: dict[str, float]
    fit_s: float

    def __str__(self) -> str:
        p = " ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"{p}: P@10 {self.metrics['precision']:.4f} NDCG@10 {self.metrics['ndcg']:.4f} "
                f"MAP@10 {self.metrics['map']:.4f} R@10 {self.metrics['recall']:.4f}")


@dataclass(kw_only=True)
class TuneResult(SearchResult[TuneRow]):
    """Every evaluated candidate and the winner by ``metric`` on the validation split."""

    seed: int
    method: str
    repeats: int
    n_valid: int

    def score(self, row: TuneRow) -> tuple[float, ...]:
        return row.metrics[self.metric], row.metrics["precision"]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best.params)

    def table(self) -> list[dict[str, Any]]:
        """Rows best first: the searched parameters plus P/R/NDCG/MAP@10."""
        return [{**r.params, **{m: r.metrics[m] for m in ("precision", "recall", "ndcg", "map")},
                 "fit_s": r.fit_s} for r in self.ranked()]

    def to_json(self) -> dict:
        return {
            "model": self.model, "seed": self.seed, "repeats": self.repeats,
            "validation_seeds": [self.seed + VALIDATION_OFFSET + r for r in range(self.repeats)],
            "metric": self.metric, "method": self.method, "n_fit_ratings": self.n_fit,
            "n_validation_ratings": self.n_valid, "elapsed_s": self.elapsed_s,
            "best_params": self.best_params, "best_metrics": self.best.metrics, "rows": self.table(),
        }


def validation_splits(dataset: Dataset, seed: int = 42, repeats: int = 1):
    """``repeats`` (fit part, validation part) pairs, all inside the seed's stratified training part."""
    train, _test = split(dataset.interactions, "stratified", seed)
    return [stratified_split(train, test_fraction=0.25, seed=seed + VALIDATION_OFFSET + r)
            for r in range(repeats)]


def _points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def tune(dataset: Dataset, model: str, grid: dict[str, list[Any]], seed: int = 42,
         metric: str = "ndcg", passes: int = 2, repeats: int = 3, k: int = 10,
         on_row: Callable[[TuneRow], None] | None = None) -> TuneResult:
    """Search ``grid`` (parameter → values) for ``model``; never looks at the test part."""
    defaults = model_class(model).defaults
    unknown = set(grid) - set(defaults)
    if unknown:
        raise ValueError(f"{model} has no parameter(s) {', '.join(sorted(unknown))}")
    start = time.perf_counter()
    parts = validation_splits(dataset, seed, repeats)
    item_ids = np.array(sorted(dataset.movies)) if dataset.movies else None
    n_points = int(np.prod([len(v) for v in grid.values()])) if grid else 1
    method = "grid" if n_points <= FULL_GRID_MAX else "coordinate"
    result = TuneResult(model=model, metric=metric, n_fit=len(parts[0][0]), seed=seed, method=method,
                        repeats=repeats, n_valid=len(parts[0][1]))
    seen: dict[tuple, TuneRow] = {}

    def score(params: dict[str, Any]) -> TuneRow:
        key = tuple(sorted((k_, repr(v)) for k_, v in params.items()))
        if key not in seen:
            rows = [evaluate_split(fit, valid, item_ids, {model: params}, seed, k)[0]
                    for fit, valid in parts]
            metrics = {m: float(np.mean([r.metrics[m] for r in rows])) for m in rows[0].metrics}
            seen[key] = TuneRow(dict(params), metrics, float(np.mean([r.fit_s for r in rows])))
            result.rows.append(seen[key])
            if on_row:
                on_row(seen[key])
        return seen[key]

    if method == "grid":
        for params in _points(grid):
            score(params)
    else:
        current = {name: defaults[name] for name in grid}
        best = score(current)
        for _ in range(passes):
            changed = False
            for name, values in grid.items():
                for value in values:
                    row = score({**current, name: value})
                    if row.metrics[metric] > best.metrics[metric]:
                        best, current, changed = row, {**current, name: value}, True
            if not changed:
                break
    result.elapsed_s = time.perf_counter() - start
    return result

"""Offline evaluation: every model beside the random and popularity baselines, over seeds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from recsys_tui.data.movielens import Dataset, Interactions
from recsys_tui.data.splits import stratified_split, temporal_split
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.base import top_k
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.training.metrics import coverage, personalization, ranking_metrics

PROTOCOLS = ("stratified", "temporal")
BASELINES = ("random", "popularity")
METRICS = ("precision", "recall", "ndcg", "map", "coverage", "personalization")


@dataclass
class EvalRow:
    """One model on one seed."""

    model: str
    seed: int
    metrics: dict[str, float]
    fit_s: float
    recommend_s: float


@dataclass
class EvalReport:
    """All rows of a run plus how it was made."""

    protocol: str
    k: int
    seeds: list[int]
    rows: list[EvalRow] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """model → metric → {mean, std} (fit_s and recommend_s included)."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for name in dict.fromkeys(r.model for r in self.rows):
            rows = [r for r in self.rows if r.model == name]
            cols = {m: [r.metrics[m] for r in rows] for m in METRICS}
            cols["fit_s"] = [r.fit_s for r in rows]
            cols["recommend_s"] = [r.recommend_s for r in rows]
            out[name] = {m: {"mean": float(np.mean(v)), "std": float(np.std(v))} for m, v in cols.items()}
        return out

    def to_json(self) -> dict:
        return {
            "protocol": self.protocol,
            "k": self.k,
            "seeds": self.seeds,
            "summary": self.summary(),
            "runs": [
                {"model": r.model, "seed": r.seed, **r.metrics, "fit_s": r.fit_s,
                 "recommend_s": r.recommend_s}
                for r in self.rows
            ],
        }


def split(inter: Interactions, protocol: str, seed: int) -> tuple[Interactions, Interactions]:
    """The train/test split a protocol prescribes."""
    if protocol == "stratified":
        return stratified_split(inter, test_fraction=0.25, seed=seed)
    if protocol == "temporal":
        return temporal_split(inter, train_fraction=0.8)
    raise ValueError(f"unknown protocol {protocol!r}; choose {' or '.join(PROTOCOLS)}")


def _seeded(name: str, params: dict, seed: int) -> dict:
    from recsys_tui.models.registry import model_class

    defaults = model_class(name).defaults
    for key in ("random_state", "seed"):
        if key in defaults and key not in params:
            return {**params, key: seed}
    return params


def recommend_for_test(
    trained: TrainedModel, test: Interactions, k: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Top-k for every test user (training items excluded) and their relevant-items matrix.

    Test users unknown to the model (possible under the temporal protocol) get popularity.
    """
    eval_users = IdMap.from_ids(test.user_ids)
    rel_rows = eval_users.indices(test.user_ids)
    rel_cols = trained.items.indices(test.item_ids)
    keep = rel_cols >= 0
    relevant = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (rel_rows[keep], rel_cols[keep])),
        shape=(len(eval_users), len(trained.items)),
    )
    relevant.sum_duplicates()
    rows = trained.users.indices(eval_users.ids)
    recs = np.full((len(eval_users), k), -1, dtype=np.int64)
    known = rows >= 0
    if known.any():
        recs[known] = trained.recommend_rows(rows[known], k)
    if (~known).any():
        recs[~known] = top_k(trained.popularity, k)
    return recs, relevant


def evaluate_split(
    train: Interactions, test: Interactions, item_ids: np.ndarray, models: dict[str, dict],
    seed: int, k: int = 10,
) -> list[EvalRow]:
    """Fit and score every model on one split."""
    rows = []
    for name, params in models.items():
        start = time.perf_counter()
        trained = TrainedModel.fit(name, train, item_ids=item_ids, **_seeded(name, params, seed))
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        recs, relevant = recommend_for_test(trained, test, k)
        rec_s = time.perf_counter() - start
        metrics = ranking_metrics(recs, relevant, k)
        metrics["coverage"] = coverage(recs, len(trained.items))
        metrics["personalization"] = personalization(recs)
        rows.append(EvalRow(name, seed, metrics, fit_s, rec_s))
    return rows


def evaluate(
    dataset: Dataset, models: dict[str, dict], protocol: str = "stratified",
    seeds: list[int] | None = None, k: int = 10,
    on_row: Callable[[EvalRow], None] | None = None,
) -> EvalReport:
    """Evaluate ``models`` (name → params) plus the baselines under ``protocol`` over ``seeds``."""
    seeds = seeds or [42]
    all_models = {name: {} for name in BASELINES}
    all_models.update(models)
    item_ids = np.array(sorted(dataset.movies)) if dataset.movies else None
    report = EvalReport(protocol, k, list(seeds))
    for seed in seeds:
        train, test = split(dataset.interactions, protocol, seed)
        for row in evaluate_split(train, test, item_ids, all_models, seed, k):
            report.rows.append(row)
            if on_row:
                on_row(row)
    return report

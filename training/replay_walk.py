"""The replay's walk: score every strategy, record the event once through the engine, let the
replay's own online scorers learn it; count hits, costs and moving-window curves."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from recsys_tui.core.engine import Engine
from recsys_tui.data.movielens import Dataset
from recsys_tui.models.base import top_k
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.training.online import DecayedPopularity, OnlineEASE, OnlineTransitions, blend
from recsys_tui.training.replay_report import LEARNS, STRATEGIES, K, ReplayReport, ReplayRow


class MovingHitRate:
    """The hit rate over the last ``window`` events."""

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



def walk(engine: Engine, past: Dataset, stream, n: int, names: list[str], window: int,
          on_point, t_setup: float, model: str, model_params: dict, train_fraction: float,
          groups: dict[str, dict]) -> ReplayReport:
    """Test-then-learn over the first ``n`` events of ``stream`` (``training.replay``'s module doc):
    each strategy scores before the event is recorded once through ``engine``, then the online
    scorers learn it."""
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
    windows = {s: MovingHitRate(window) for s in names}
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

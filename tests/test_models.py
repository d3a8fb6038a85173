"""Model unit tests on tiny synthetic matrices: exact fold-in, persistence, cold users, weighting."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from recsys_tui.common.fsutil import load_npz, save_npz
from recsys_tui.data.movielens import Interactions
from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.base import EmbeddingModel, top_k, top_k_rows
from recsys_tui.models.bundle import TrainedModel
from recsys_tui.models.ease import EASERecommender
from recsys_tui.models.hybrid import HybridRecommender
from recsys_tui.models.registry import MODEL_NAMES, create
from recsys_tui.models.weighting import Weighting

N_USERS, N_ITEMS = 40, 30
SMALL = {
    "als": {"factors": 8, "iterations": 10, "regularization": 2.0},
    "hybrid": {"factors": 8, "iterations": 10, "regularization": 2.0, "candidates": 12, "ease_l2": 20.0},
    "ease": {"l2": 5.0},
}


def _interactions(seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    mask = rng.random((N_USERS, N_ITEMS)) < 0.3
    mask[:, 0] = True  # every user has a rating; item 0 is popular
    users, items = np.nonzero(mask)
    ratings = rng.integers(1, 6, len(users)).astype(np.float32)
    return Interactions.from_arrays(users + 1, items + 1, ratings, np.arange(len(users)))


@pytest.fixture(scope="module")
def inter() -> Interactions:
    return _interactions()


@pytest.fixture(scope="module")
def fitted(inter) -> dict[str, TrainedModel]:
    return {name: TrainedModel.fit(name, inter, item_ids=np.arange(1, N_ITEMS + 1), **SMALL.get(name, {}))
            for name in MODEL_NAMES}


def _row(train: sp.csr_matrix, u: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = train.indptr[u], train.indptr[u + 1]
    return train.indices[lo:hi].astype(np.int64), train.data[lo:hi]


def _dense_solve(model: ALSRecommender, items: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """Hu–Koren–Volinsky user step written out densely: (YᵀCY + λI) x = YᵀCp over *all* items."""
    y = model.item_factors.astype(np.float64)
    conf = model.weighting.row(items, ratings)
    c = np.ones(len(y))
    p = np.zeros(len(y))
    c[items] = np.abs(conf)
    p[items] = conf > 0
    a = (y.T * c) @ y + model.params["regularization"] * np.eye(y.shape[1])
    return np.linalg.solve(a, y.T @ (c * p))


@pytest.mark.parametrize("name", ["als", "hybrid"])
def test_fold_in_equals_a_full_solve(fitted, name):
    trained = fitted[name]
    als = trained.model.base if name == "hybrid" else trained.model
    for u in (0, 7, 23):
        items, ratings = _row(trained.train, u)
        vector = trained.model.fold_in(items, ratings)
        np.testing.assert_allclose(vector, _dense_solve(als, items, ratings), rtol=1e-4, atol=1e-5)
        # the stored user vector is that user's fold-in (the engine relies on it)
        np.testing.assert_allclose(trained.model.user_factors[u], vector, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_user_scores_equal_the_batch_scores(fitted, name):
    trained = fitted[name]
    if name == "random":
        pytest.skip("random scores are keyed by the call, not the history")
    batch = trained.model.score_users(trained.train)
    for u in (0, 11, 39):
        np.testing.assert_allclose(trained.model.score_history(*_row(trained.train, u)), batch[u],
                                   rtol=1e-4, atol=1e-4)


def test_ease_fold_in_is_a_weighted_row_sum(fitted):
    model = fitted["ease"].model
    items, ratings = _row(fitted["ease"].train, 5)
    expected = sum(v * model.B[j] for j, v in zip(items, model._values(ratings), strict=True))
    np.testing.assert_allclose(model.score_history(items, ratings), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip_without_pickle(fitted, name, tmp_path):
    trained = fitted[name]
    trained.save(tmp_path)
    for path in tmp_path.glob("*.npz"):
        with np.load(path, allow_pickle=False) as npz:  # raises if anything needed pickle
            assert all(npz[k].dtype != object for k in npz.files)
    json.loads((tmp_path / "model.json").read_text())
    loaded = TrainedModel.load(tmp_path)
    assert loaded.name == name and loaded.model.params == trained.model.params
    np.testing.assert_allclose(loaded.model.score_users(loaded.train),
                               trained.model.score_users(trained.train), rtol=1e-6, atol=1e-6)
    assert loaded.recommend(3, 5) == trained.recommend(3, 5)


def test_model_arrays_are_plain_numeric(fitted, tmp_path):
    for name, trained in fitted.items():
        save_npz(tmp_path / f"{name}.npz", **trained.model.arrays())
        model = create(name, **json.loads(json.dumps(trained.model.params)))
        model.load_arrays(load_npz(tmp_path / f"{name}.npz"))
        assert model.n_items == N_ITEMS


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_unknown_user_gets_popularity_without_error(fitted, name):
    trained = fitted[name]
    recs = trained.recommend(999_999, k=5)
    assert [i for i, _ in recs] == [int(trained.items.ids[j]) for j in top_k(trained.popularity, 5)]
    scores = trained.model.score_history(np.empty(0, np.int64), np.empty(0, np.float32))
    assert scores.shape == (N_ITEMS,) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_seen_items_are_excluded(fitted, name):
    trained = fitted[name]
    for user in (1, 2, 30):
        seen = set(trained.items.ids[trained.history(user)[0]].tolist())
        recs = [i for i, _ in trained.recommend(user, k=N_ITEMS)]
        assert recs and not seen & set(recs)
        assert len(recs) == N_ITEMS - len(seen)
    rows = trained.recommend_rows(np.arange(N_USERS), k=5)
    for u in range(N_USERS):
        assert not set(rows[u][rows[u] >= 0].tolist()) & set(_row(trained.train, u)[0].tolist())


def test_hybrid_candidates_come_from_the_als_top_n(fitted):
    trained = fitted["hybrid"]
    model: HybridRecommender = trained.model
    n = model.n_candidates
    for u in range(N_USERS):
        items, ratings = _row(trained.train, u)
        als = model.item_factors @ model.fold_in(items, ratings)
        pool = set(top_k(als, n, exclude=items).tolist())
        best = top_k(model.score_history(items, ratings), 5, exclude=items)
        assert set(best.tolist()) <= pool
        cand, scores = model.rerank(items, ratings, np.array(sorted(pool)), 5)
        assert cand.tolist() == best.tolist() and np.all(np.diff(scores) <= 0)
    rows = top_k_rows(model.score_users(trained.train), 5, exclude=trained.train)
    assert rows.shape == (N_USERS, 5)


def test_hybrid_reasons_decompose_its_score(fitted):
    """Σ contributions = blended score − a per-user constant, for every candidate."""
    model: HybridRecommender = fitted["hybrid"].model
    items, ratings = _row(fitted["hybrid"].train, 4)
    als = model.item_factors @ model.fold_in(items, ratings)
    cand = top_k(als, model.n_candidates, exclude=items)
    total = model.contributions(items, ratings, cand).sum(axis=0)
    blended = model.score_history(items, ratings)[cand]
    shift = blended - total
    np.testing.assert_allclose(shift, shift[0], atol=1e-3)


def test_one_star_gets_less_confidence_than_five_stars():
    w = Weighting(alpha=0.9, user_idf=True, negative_below=1.0).fit(
        sp.csr_matrix(np.ones((3, N_ITEMS), np.float32)))
    rng = np.random.default_rng(3)
    for _ in range(20):
        items = np.sort(rng.choice(N_ITEMS, 8, replace=False))
        ratings = rng.integers(1, 6, 8).astype(np.float64)
        conf = w.row(items, ratings)
        order = np.argsort(ratings, kind="stable")
        assert np.all(np.diff(conf[order]) >= -1e-12)  # confidence never falls as stars rise
        assert np.all(conf[ratings <= 1] < 0) and np.all(conf[ratings > 1] > 0)


@pytest.mark.parametrize("negative_weight", [1.0, 3.0])
def test_a_one_star_rating_never_promotes_the_film(fitted, inter, negative_weight):
    model = ALSRecommender(**SMALL["als"], negative_weight=negative_weight).fit(fitted["als"].train)
    for u in range(N_USERS):
        items, ratings = _row(fitted["als"].train, u)
        unseen = np.setdiff1d(np.arange(N_ITEMS), items)
        j = int(unseen[0])
        before = model.item_factors @ model.fold_in(items, ratings)
        order = np.argsort(np.r_[items, j])
        after = model.item_factors @ model.fold_in(np.r_[items, j][order], np.r_[ratings, 1.0][order])
        if negative_weight == 1.0:  # exactly "not rated"
            np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
        else:  # a confident "no": the film's score moves towards 0 and never above max(before, 0)
            assert abs(after[j]) < abs(before[j]) + 1e-6
            assert after[j] <= max(before[j], 0.0) + 1e-6


def test_ease_and_hybrid_ignore_a_one_star_rating(fitted):
    """Both hybrid stages (ALS fold-in, EASE row sum) are unchanged by a 1-star rating."""
    hybrid: HybridRecommender = fitted["hybrid"].model
    ease = EASERecommender(l2=5.0, negative_below=1.0, user_idf=True).fit(fitted["hybrid"].train)
    items, ratings = _row(fitted["hybrid"].train, 9)
    j = int(np.setdiff1d(np.arange(N_ITEMS), items)[0])
    order = np.argsort(np.r_[items, j])
    more_items, more_ratings = np.r_[items, j][order], np.r_[ratings, 1.0][order]
    for m in (ease, hybrid.ease):
        np.testing.assert_allclose(m.score_history(more_items, more_ratings),
                                   m.score_history(items, ratings), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hybrid.fold_in(more_items, more_ratings), hybrid.fold_in(items, ratings),
                               rtol=1e-5, atol=1e-6)


def test_bad_weighting_parameters_are_model_errors():
    from recsys_tui.models.base import ModelError

    with pytest.raises(ModelError):
        ALSRecommender(negative_weight=0.5)
    with pytest.raises(ModelError):
        HybridRecommender(candidates=0)
    assert isinstance(create("hybrid"), EmbeddingModel)


@pytest.mark.integration
def test_hybrid_serves_through_the_engine(home):
    """FAISS retrieval + re-rank in the engine gives the model's own two-stage list, with reasons."""
    from recsys_tui.core.engine import Engine
    from recsys_tui.training.pipeline import train

    train(home, "hybrid")
    engine = Engine.open(home)
    try:
        assert engine.is_embedding and engine.model.name == "hybrid"
        user = 1
        recs = engine.recommend(user, k=10)
        assert recs.personal and len(recs.items) == 10
        assert [r.item_id for r in recs.items] == [i for i, _ in engine.trained.recommend(user, 10)]
        assert any(r.reason.startswith("because you rated") for r in recs.items)
        users, items, _ = engine.recommend_all(10)
        assert items[list(users).index(user)].tolist() == [r.item_id for r in recs.items]
        idx, values = engine.user_arrays(user)
        film = next(int(i) for i in engine.items.ids if int(i) not in set(engine.items.ids[idx].tolist()))
        after = engine.record(user, film, rating=5).after
        idx, values = engine.user_arrays(user)
        recency = np.where(engine.items.ids[idx] == film, 0, -1)  # the one logged (online) rating
        scores = engine.model.score_history(idx, values, recency)
        assert [r.item_id for r in after.items] == [int(engine.items.ids[j])
                                                    for j in top_k(scores, 10, exclude=idx)]
    finally:
        engine.close()


def test_a_version_saved_before_the_user_idf_loads_without_it(fitted, tmp_path):
    """Old artifacts (no ``user_idf`` array, no key in model.json) fold in the way they were trained."""
    old = ALSRecommender(**SMALL["als"], user_idf=False).fit(fitted["als"].train)
    arrays = {k: v for k, v in old.arrays().items() if k != "user_idf"}
    params = {k: v for k, v in old.params.items() if k != "user_idf"}
    loaded = create("als", **params)
    loaded.load_arrays(arrays)
    items, ratings = _row(fitted["als"].train, 2)
    np.testing.assert_allclose(loaded.fold_in(items, ratings), old.fold_in(items, ratings), rtol=1e-6)


# -- online events: confidence × max(1, online_weight · online_decay^recency) -----------------------

ONLINE = {"online_weight": 6.0, "online_decay": 0.5}


def test_online_multiplier_fades_with_recency_and_leaves_batch_and_dislikes_alone():
    w = Weighting(alpha=1.0, negative_below=1.0, online_weight=8.0, online_decay=0.5)
    np.testing.assert_allclose(w.online_multiplier(np.array([-1, 0, 1, 2, 3, 9])), [1, 8, 4, 2, 1, 1])
    items, ratings = np.arange(4), np.array([4.0, 4.0, 1.0, 5.0])
    batch = w.row(items, ratings)
    online = w.row(items, ratings, np.array([-1, 1, 0, 0]))
    np.testing.assert_allclose(online, [4.0, 16.0, -1.0, 40.0])  # the 1-star dislike keeps −1
    np.testing.assert_allclose(batch, [4.0, 4.0, -1.0, 5.0])
    with pytest.raises(ValueError):
        Weighting(online_weight=0.5)
    with pytest.raises(ValueError):
        Weighting(online_decay=0.0)
    with pytest.raises(ValueError):
        w.row(items, ratings, np.array([0, 1]))


def test_online_weighting_does_not_change_a_batch_fit(fitted):
    """Batch data has no online entries: the offline model is identical whatever the weights."""
    plain = ALSRecommender(**SMALL["als"]).fit(fitted["als"].train)
    weighted = ALSRecommender(**SMALL["als"], **ONLINE).fit(fitted["als"].train)
    np.testing.assert_array_equal(plain.item_factors, weighted.item_factors)
    np.testing.assert_array_equal(plain.user_factors, weighted.user_factors)


def _dense_solve_explicit(model: ALSRecommender, items, conf) -> np.ndarray:
    y = model.item_factors.astype(np.float64)
    c, p = np.ones(len(y)), np.zeros(len(y))
    c[items], p[items] = np.abs(conf), conf > 0
    a = (y.T * c) @ y + model.params["regularization"] * np.eye(y.shape[1])
    return np.linalg.solve(a, y.T @ (c * p))


def test_fold_in_with_online_entries_equals_a_full_solve_with_those_weights(fitted):
    model = ALSRecommender(**SMALL["als"], **ONLINE).fit(fitted["als"].train)
    items, ratings = _row(fitted["als"].train, 7)
    recency = np.full(len(items), -1)
    recency[-3:] = [2, 0, 1]  # the last three entries were given online, the second-last most recently
    vector = model.fold_in(items, ratings, recency)
    # the confidences written out by hand: 0.9 · r · user IDF, × max(1, 6 · 0.5^k) when online
    n_pos = int((ratings > 1).sum())
    idf = max(np.log(N_ITEMS) - np.log1p(n_pos), 0.05)
    mult = np.where(recency >= 0, np.maximum(1.0, 6.0 * 0.5 ** np.maximum(recency, 0)), 1.0)
    conf = np.where(ratings > 1, 0.9 * ratings * idf * mult, -1.0)
    np.testing.assert_allclose(vector, _dense_solve_explicit(model, items, conf), rtol=1e-4, atol=1e-5)
    assert not np.allclose(vector, model.fold_in(items, ratings), rtol=1e-3, atol=1e-4)
    # the reasons decompose the same score
    targets = np.arange(N_ITEMS)
    parts = model.contributions(items, ratings, targets, recency)
    np.testing.assert_allclose(parts.sum(axis=0), model.item_factors @ vector, rtol=1e-3, atol=1e-4)


def test_fit_with_recency_stores_each_users_weighted_fold_in(fitted):
    train = fitted["als"].train
    recency = np.full(train.nnz, -1)
    recency[train.indptr[3]:train.indptr[4]] = np.arange(train.indptr[4] - train.indptr[3])[::-1]
    model = ALSRecommender(**SMALL["als"], **ONLINE).fit(train, recency)
    plain = ALSRecommender(**SMALL["als"], **ONLINE).fit(train)
    assert not np.allclose(model.item_factors, plain.item_factors)  # the weights entered the fit
    for u in (3, 5):
        items, ratings = _row(train, u)
        row = recency[train.indptr[u]:train.indptr[u + 1]]
        np.testing.assert_allclose(model.user_factors[u], model.fold_in(items, ratings, row),
                                   rtol=1e-4, atol=1e-5)
    from recsys_tui.models.base import ModelError

    with pytest.raises(ModelError):
        ALSRecommender(**SMALL["als"]).fit(train, recency[:-1])


def test_online_weights_survive_save_and_load_and_old_versions_get_none(fitted):
    model = ALSRecommender(**SMALL["als"], **ONLINE).fit(fitted["als"].train)
    loaded = create("als", **model.params)
    loaded.load_arrays(model.arrays())
    assert (loaded.weighting.online_weight, loaded.weighting.online_decay) == (6.0, 0.5)
    old = create("als", **model.params)
    old.load_arrays({k: v for k, v in model.arrays().items() if k != "online_weight"})
    assert (old.weighting.online_weight, old.weighting.online_decay) == (1.0, 1.0)
    assert old.params["online_weight"] == 1.0

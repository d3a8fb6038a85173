"""Integration on the real MovieLens-100K: verified cache, train ALS, recommend for all, beat popularity."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.data.cache import ML100K_CONTENT_HASH
from recsys_tui.data.fetch import fetch
from recsys_tui.data.movielens import N_ITEMS, N_RATINGS, N_USERS
from recsys_tui.training.evaluate import evaluate
from recsys_tui.training.pipeline import train

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def dataset(ml100k_data):
    data, fetched_now = fetch(ml100k_data, "auto")
    assert not fetched_now  # the verified cache is reused, never fetched again
    return data


def test_cache_holds_the_verified_ml100k(dataset):
    inter = dataset.interactions
    assert len(inter) == N_RATINGS
    assert len(np.unique(inter.user_ids)) == N_USERS and len(dataset.users) == N_USERS
    assert len(np.unique(inter.item_ids)) == N_ITEMS and len(dataset.movies) == N_ITEMS
    assert dataset.content_hash == ML100K_CONTENT_HASH
    assert dataset.movies[50].title.startswith("Star Wars") and dataset.movies[50].year == 1977
    assert set(np.unique(inter.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_train_als_and_recommend_for_every_user(home):
    old = artifacts.current_version(home.artifacts)
    result = train(home, "als")
    assert result.version != old and result.model == "als"
    assert result.params["factors"] == 64 and result.n_ratings == N_RATINGS
    assert artifacts.current_version(home.artifacts) == result.version
    engine = Engine.open(home)
    try:
        assert engine.version == result.version
        assert engine.model.item_factors.shape == (N_ITEMS, 64)
        users, items, scores = engine.recommend_all(10)
        assert users.tolist() == list(range(1, N_USERS + 1))
        assert items.shape == scores.shape == (N_USERS, 10)
        assert np.isfinite(scores).all()
        assert (np.diff(scores, axis=1) <= 1e-5).all()  # best first
        train_csr = engine.trained.train
        for n, user in enumerate(users):
            row = engine.trained.users.index(int(user))
            seen = set(engine.items.ids[train_csr.indices[train_csr.indptr[row]:train_csr.indptr[row + 1]]])
            assert len(set(items[n].tolist())) == 10
            assert not seen & set(items[n].tolist()), user
        assert np.isin(items, engine.items.ids).all()
        for user in (1, 500, 943):  # the batch path agrees with the one-user path
            assert engine.recommend(user).item_ids == items[user - 1].tolist()
        assert len(np.unique(items)) > 100  # personal lists, not one list for everybody
    finally:
        engine.close()


def test_stratified_als_beats_the_baselines(dataset):
    report = evaluate(dataset, {"als": {}}, "stratified", [42], k=10)
    rows = {r.model: r.metrics for r in report.rows}
    assert {"als", "popularity", "random"} <= set(rows)
    als, pop, rnd = rows["als"], rows["popularity"], rows["random"]
    assert als["users"] == pop["users"] == N_USERS
    for metric in ("precision", "recall", "ndcg", "map"):
        assert als[metric] > pop[metric] > rnd[metric], metric
    assert als["coverage"] > pop["coverage"]
    assert als["personalization"] > pop["personalization"]
    assert 0.0 <= als["precision"] <= 1.0 and 0.0 <= als["ndcg"] <= 1.0

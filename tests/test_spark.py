"""Spark MLlib ALS backend: artifacts the engine serves, parity with implicit on planted data."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.data.cache import write_cache
from recsys_tui.data.formats import anonymous_users
from recsys_tui.data.movielens import Dataset, Interactions, Movie
from recsys_tui.training.spark_als import java_binary, spark_ratings

from recsys_tui.cli import main

pytestmark = [pytest.mark.spark]


def need_spark() -> None:
    reason = None
    if importlib.util.find_spec("pyspark") is None:
        reason = "pyspark not installed (pip install -e '.[spark]')"
    elif java_binary() is None:
        reason = "no Java runtime (CI installs openjdk-17-jre-headless)"
    if reason:
        if os.environ.get("RECSYS_TUI_REQUIRE_SPARK") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def planted(n_users: int = 300, n_items: int = 200, rank: int = 4, per_user: int = 25,
            seed: int = 0) -> Dataset:
    """Users and items in ``rank`` groups; each user rates mostly films of their own group, high."""
    rng = np.random.default_rng(seed)
    group_u, group_i = rng.integers(0, rank, n_users), np.arange(n_items) % rank
    users, items, stars = [], [], []
    for u in range(n_users):
        own = np.flatnonzero(group_i == group_u[u])
        other = np.flatnonzero(group_i != group_u[u])
        picked = np.r_[rng.choice(own, per_user - 3, replace=False), rng.choice(other, 3, replace=False)]
        users += [u + 1] * per_user
        items += (picked + 1).tolist()
        stars += [5.0 if group_i[i] == group_u[u] else 2.0 for i in picked]
    inter = Interactions.from_arrays(users, items, stars, np.arange(len(users)) + 1_000_000_000)
    movies = {i + 1: Movie(i + 1, f"Planted {i + 1}", 2000, (f"G{group_i[i]}",)) for i in range(n_items)}
    return Dataset(inter, movies, anonymous_users(inter), source="planted low-rank (tests)")


def test_spark_ratings_reproduce_implicit_confidences():
    keep, rating = spark_ratings(np.array([9.0, 1.5, 0.4, -1.0, -3.0]))
    assert keep.tolist() == [True, True, True, False, True]
    assert np.allclose(1 + np.abs(rating), [9.0, 1.5, 1.001, 3.0])  # Spark's c = 1 + α|r|, α = 1
    assert (rating[:3] > 0).all() and rating[3] < 0  # preference 1 for likes, 0 for dislikes


def test_without_pyspark_or_java_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    rc = main(["--home", str(tmp_path / "home"), "train", "--engine", "spark"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "needs" in err and ("Java" in err or "pyspark" in err)
    assert not (tmp_path / "home" / "artifacts").exists()


def test_spark_master_needs_spark_engine(capsys, tmp_path):
    rc = main(["--home", str(tmp_path / "home"), "train", "--spark-master", "local[2]"])
    assert rc == 2 and "--engine spark only" in capsys.readouterr().err


@pytest.mark.slow
def test_spark_train_publishes_artifacts_the_engine_serves(capsys, tmp_path):
    need_spark()
    root = tmp_path / "home"
    write_cache(root / "data", planted(120, 80, per_user=15), "planted", {"half_stars": True})
    rc = main(["--home", str(root), "--dataset", "planted", "train", "--engine", "spark",
               "--spark-master", "local[2]", "--factors", "8", "-p", "iterations=5"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "als (spark) on planted" in out
    from recsys_tui.core.artifacts import current_version, read_manifest

    home = Home(root, "planted")
    manifest = read_manifest(home.artifacts / current_version(home.artifacts))
    spark = manifest["spark"]  # which BLAS MLlib ran on is recorded with the model
    assert spark["master"] == "local[2]" and spark["blocks"] == 2
    assert spark["blas"].startswith(("native (", "java ("))
    assert manifest["timings"]["als_fit_s"] > 0 and manifest["timings"]["collect_s"] >= 0
    engine = Engine.open(home)
    try:
        assert engine.model.item_factors.shape == (80, 8) and np.abs(engine.model.item_factors).sum() > 0
        recs = engine.recommend(1)
        assert len(recs.items) == 10 and all(r.reason for r in recs.items)
        result = engine.record(1, 80, "rating", 4.5)
        assert result.after.items and result.timings.total_ms > 0
    finally:
        engine.close()


@pytest.mark.slow
def test_spark_matches_implicit_on_planted_low_rank_data():
    need_spark()
    from recsys_tui.models.bundle import TrainedModel
    from recsys_tui.training.evaluate import recommend_for_test, split
    from recsys_tui.training.metrics import ranking_metrics
    from recsys_tui.training.spark_als import fit_spark

    dataset = planted()
    train, test = split(dataset.interactions, "stratified", 42)
    items = np.array(sorted(dataset.movies))
    params = {"factors": 8, "iterations": 10, "random_state": 42}
    scores = {}
    for name, model in (("implicit", TrainedModel.fit("als", train, item_ids=items, **params)),
                        ("spark", fit_spark(train, items, params, master="local[2]"))):
        recs, relevant = recommend_for_test(model, test, 10)
        scores[name] = ranking_metrics(recs, relevant, 10)
    for metric in ("precision", "ndcg"):
        assert abs(scores["spark"][metric] - scores["implicit"][metric]) <= 0.02, scores
    # a perfect group recommender gets about 5 relevant among 33 unseen in-group films: P@10 ≈ 0.15;
    # chance is about 0.03
    assert scores["spark"]["precision"] > 0.1

"""Several data sets in one home: synthetic sets, half stars end to end, fetch without network."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from recsys_tui.core.engine import Engine, EngineError
from recsys_tui.core.home import Home
from recsys_tui.data.cache import has_cache, load_cache
from recsys_tui.data.synth import MIN_PER_USER, generate, shape

from recsys_tui.cli import main


def run(capsys, root, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(root), *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_synth_has_the_published_shape_scaled():
    dataset, target = generate("ml-25m", 0.002, seed=3)
    inter = dataset.interactions
    users, per_user = np.unique(inter.user_ids, return_counts=True)
    assert (target.users, target.items) == (325, 2641)
    assert len(users) == target.users and abs(len(inter) - target.ratings) <= 5
    assert per_user.min() >= MIN_PER_USER and per_user.max() > 5 * np.median(per_user)  # long tail
    popularity = np.sort(np.bincount(inter.item_ids))[::-1]
    assert popularity[: len(popularity) // 10].sum() > 0.4 * len(inter)  # top 10 % of films
    assert len(np.unique(inter.user_ids * 10**6 + inter.item_ids)) == len(inter)  # no repeats
    stars, counts = np.unique(inter.ratings, return_counts=True)
    assert stars.tolist() == [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]
    assert stars[np.argmax(counts)] == 4.0  # ML-25M's mode
    assert inter.timestamps.min() >= 789_652_009 and inter.timestamps.max() <= 1_574_327_703
    assert all(m.title.startswith("Synthetic Movie") for m in dataset.movies.values())
    assert "synthetic" in dataset.source


def test_synth_is_deterministic_and_whole_stars_for_ml1m():
    a, _ = generate("ml-1m", 0.01, seed=7)
    b, _ = generate("ml-1m", 0.01, seed=7)
    assert np.array_equal(a.interactions.item_ids, b.interactions.item_ids)
    assert set(np.unique(a.interactions.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert shape("ml-25m", 1.0).ratings == 25_000_095


def test_synth_has_learnable_structure():
    """ALS on the planted clusters beats popularity by a wide margin on held-out ratings."""
    from recsys_tui.training.evaluate import evaluate

    dataset, _ = generate("ml-25m", 0.002, seed=1)
    report = evaluate(dataset, {"als": {"factors": 32, "iterations": 10}}, "stratified", [42], 10)
    summary = report.summary()
    assert summary["als"]["precision"]["mean"] > 1.3 * summary["popularity"]["precision"]["mean"]


def test_cli_synth_then_train_rate_half_star_with_reasons(capsys, tmp_path):
    root = tmp_path / "home"
    rc, out, _ = run(capsys, root, "data", "synth", "--scale", "0.002", "--name", "syn")
    assert rc == 0 and "SYNTHETIC" in out
    rc, out, err = run(capsys, root, "data", "synth", "--scale", "0.002", "--name", "syn")
    assert rc == 2 and "already exists" in err
    rc, out, _ = run(capsys, root, "data", "list")
    assert out.split()[:2] == ["syn", "synthetic"]
    rc, out, _ = run(capsys, root, "--dataset", "syn", "train", "--factors", "16", "-p", "iterations=5")
    assert rc == 0 and "published v0001" in out, out
    assert (root / "sets" / "syn" / "artifacts").is_dir() and not (root / "artifacts").exists()
    assert not has_cache(root / "data")  # ML-100K was never needed
    engine = Engine.open(Home(root, "syn"))
    try:
        assert engine.half_stars and engine.synthetic and engine.dataset_name == "syn"
        user = int(engine.dataset.interactions.user_ids[0])
        item = next(i for i in engine.catalogue.item_ids.tolist()
                    if i not in set(engine.dataset.interactions.item_ids[
                        engine.dataset.interactions.user_ids == user].tolist()))
        result = engine.record(user, item, "rating", 3.5)
        assert result.rating == 3.5
        title = engine.catalogue.title(item)
        assert any(r.reason.startswith("because you rated") and f"{title} ★3.5" in r.reason
                   for r in result.after.items)
        with pytest.raises(EngineError, match=r"0\.5–5 in half stars"):
            engine.record(user, item, "rating", 3.25)
        other = next(i for i in engine.catalogue.item_ids.tolist()[::-1] if i != item)
        assert engine.record(user, other, "rating", 0.5).rating == 0.5  # the log takes half stars
    finally:
        engine.close()
    rc, out, err = run(capsys, root, "--dataset", "syn", "rate", "--user", str(user), "--item",
                       str(item), "--rating", "4.5", "-f", "json")
    assert rc == 0, err
    assert json.loads(out)["rating"] == 4.5


def test_whole_star_set_refuses_half_stars(home):
    engine = Engine.open(home)
    try:
        with pytest.raises(EngineError, match="whole number 1–5"):
            engine.record(1, 1, "rating", 3.5)
    finally:
        engine.close()


def _write_latest_small(folder, dataset) -> None:
    """The published ml-latest-small layout: ratings.csv and movies.csv with quoted titles."""
    folder.mkdir(parents=True)
    inter = dataset.interactions
    with open(folder / "ratings.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["userId", "movieId", "rating", "timestamp"])
        w.writerows(zip(inter.user_ids.tolist(), inter.item_ids.tolist(),
                        [f"{r:.1f}" for r in inter.ratings.tolist()], inter.timestamps.tolist(),
                        strict=True))
    with open(folder / "movies.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["movieId", "title", "genres"])
        for m in dataset.movies.values():
            title = f"{m.title}, The \"Cut\" — Ünïcode ({m.year})"
            w.writerow([m.item_id, title, "|".join(m.genres) or "(no genres listed)"])


def test_published_csv_layout_end_to_end(capsys, tmp_path):
    source, _ = generate("ml-latest-small", 0.2, seed=5)
    folder = tmp_path / "ml-latest-small"
    _write_latest_small(folder, source)
    root = tmp_path / "home"
    rc, out, err = run(capsys, root, "data", "fetch", "--dataset", "ml-latest-small", "--source", str(folder))
    assert rc == 0, err
    cached = load_cache(root / "data", name="ml-latest-small")
    assert np.array_equal(np.sort(cached.interactions.ratings), np.sort(source.interactions.ratings))
    assert cached.movies[1].title == 'Synthetic Movie 1, The "Cut" — Ünïcode'
    rc, out, err = run(capsys, root, "data", "info", "--dataset", "ml-latest-small")
    assert rc == 0 and "0.5–5 in half stars" in out


def test_fetch_without_network_is_one_line(capsys, tmp_path, monkeypatch):
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    rc, _, err = run(capsys, tmp_path / "home", "data", "fetch", "--dataset", "ml-1m")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "GroupLens is not reachable" in err and "Traceback" not in err
    assert not has_cache(tmp_path / "home" / "data", "ml-1m")


@pytest.mark.parametrize(("args", "words"), [
    (["data", "fetch", "--dataset", "ml-99m"], "not a published release"),
    (["data", "synth", "--like", "ml-99m"], "--like must be one of"),
    (["data", "synth", "--scale", "0"], "--scale must be between"),
    (["data", "synth", "--name", "ml-1m"], "is a published release"),
    (["data", "synth", "--name", "../evil"], "data set name"),
    (["--dataset", "Bad Name", "train"], "data set name"),
    (["--dataset", "never-made", "train"], "unknown data set"),
])
def test_dataset_usage_errors(capsys, tmp_path, args, words):
    rc, _, err = run(capsys, tmp_path / "home", *args)
    assert rc in (1, 2) and words in err and len(err.strip().splitlines()) == 1

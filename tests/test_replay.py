"""Prequential replay: a planted pattern online learning must find, the engine path, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from recsys_tui.core.home import Home
from recsys_tui.data.cache import write_cache
from recsys_tui.data.movielens import Dataset, Interactions, Movie, UserInfo
from recsys_tui.training.replay import DEFAULT_STRATEGIES, ReplayError, parse_strategies, run_replay

from recsys_tui.cli import main
from tests.events import logged

CLUSTERS, PER_CLUSTER = 6, 10
N_ITEMS = CLUSTERS * PER_CLUSTER
TRAIN_USERS, PER_TRAIN_USER = 80, 5
NEW_USERS, PER_NEW_USER = 50, 8


def synthetic_home(root) -> Home:
    """Users each like one cluster of 10 items. The first half of the ratings by time come from 80
    users; the second half from 50 users never seen before, interleaved in time.

    A frozen model can only show new users static popularity (≈ 1 in 6 chance per list); a model
    that learns from the first event of a new user can rank that user's cluster.
    """
    rng = np.random.default_rng(7)
    rows = []
    for u in range(1, TRAIN_USERS + 1):
        items = rng.choice(PER_CLUSTER, PER_TRAIN_USER, replace=False) + 1 + (u % CLUSTERS) * PER_CLUSTER
        rows += [(u, int(i), float(rng.integers(3, 6)), int(rng.integers(0, 1000))) for i in items]
    stream = []
    for u in range(TRAIN_USERS + 1, TRAIN_USERS + NEW_USERS + 1):
        items = rng.choice(PER_CLUSTER, PER_NEW_USER, replace=False) + 1 + (u % CLUSTERS) * PER_CLUSTER
        start = int(rng.integers(2000, 5000))
        stream += [(u, int(i), float(rng.integers(3, 6)), start + 10 * n) for n, i in enumerate(items)]
    rows += stream
    u, i, r, t = (np.array(c) for c in zip(*rows, strict=True))
    inter = Interactions.from_arrays(u, i, r, t)
    movies = {j: Movie(j, f"Movie {j}", 1990 + j % 10, ("Drama",)) for j in range(1, N_ITEMS + 1)}
    users = {j: UserInfo(j, 30, "F", "other", "00000") for j in range(1, TRAIN_USERS + NEW_USERS + 1)}
    home = Home(root).ensure()
    write_cache(home.data, Dataset(inter, movies, users, source="synthetic clusters"))
    return home


def test_online_strategies_beat_frozen_on_a_planted_pattern(tmp_path):
    home = synthetic_home(tmp_path / "synthetic")
    points = []
    report = run_replay(home, ["frozen", "popularity", "foldin", "ease", "blend"], train_fraction=0.5,
                        window=100, on_point=lambda s, n, hr: points.append((s, n, hr)),
                        model="als", params={"factors": 8, "iterations": 10, "regularization": 5.0})
    n = NEW_USERS * PER_NEW_USER
    assert report.events == n and report.n_new_events == n and report.n_returning_events == 0
    hr = {r.strategy: r.hr_at_10 for r in report.rows}
    assert hr["frozen"] < 0.3
    for name in ("foldin", "ease", "blend"):
        assert hr[name] > hr["frozen"] + 0.3, (name, hr)
        assert hr[name] > 2 * hr["popularity"], (name, hr)
    # curves: one point every window/4 events, the last at the end, reported to on_point as well
    assert [p[0] for p in report.curves["foldin"]] == list(range(25, n + 1, 25))
    assert len(points) == 5 * len(report.curves["foldin"])
    assert all(0.0 <= p[2] <= 1.0 for p in points)


def test_every_replayed_event_goes_through_the_engine(tmp_path):
    home = synthetic_home(tmp_path / "synthetic")
    report = run_replay(home, ["foldin", "popularity"], train_fraction=0.5, limit=120,
                        model="als", params={"factors": 8, "iterations": 5, "regularization": 5.0})
    assert report.events == 120
    assert report.log_events == 120, "each event is appended to the event log once"
    assert report.store_watermark == 120 and report.store_events == 120, "and applied to the store"
    assert set(report.extra["record_steps_us"]) >= {"log", "foldin", "features"}
    data = report.to_json()
    assert data["events"] == 120
    assert set(data["strategies"]) == {"foldin", "popularity"}
    assert {"hr_at_10", "us_per_event", "hr_new", "hr_returning"} <= set(data["strategies"]["foldin"])
    json.dumps(data)  # serialisable


def test_bad_requests_are_refused(tmp_path):
    assert parse_strategies(None) == list(DEFAULT_STRATEGIES)
    assert parse_strategies("foldin, frozen,foldin") == ["foldin", "frozen"]
    with pytest.raises(ReplayError, match="unknown strategy"):
        parse_strategies("foldin,magic")
    home = synthetic_home(tmp_path / "synthetic")
    with pytest.raises(ReplayError, match="between 0 and 1"):
        run_replay(home, ["frozen"], train_fraction=1.0)
    with pytest.raises(ReplayError, match="window"):
        run_replay(home, ["frozen"], window=0)


@pytest.mark.parametrize("args, message", [
    (["--strategies", "frozen,nope"], "unknown strategy 'nope'"),
    (["--train-fraction", "1.5"], "--train-fraction"),
    (["--window", "0"], "--window"),
    (["--limit", "0"], "--limit"),
])
def test_cli_bad_flags_are_one_line_errors(tmp_path, capsys, args, message):
    rc = main(["--home", str(tmp_path / "h"), "replay", *args])
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert message in err and "\n" not in err


@pytest.mark.integration
def test_cli_replay_on_ml100k_writes_json(home, tmp_path, capsys):
    out = tmp_path / "replay.json"
    rc = main(["--home", str(home.root), "replay", "--limit", "300", "--window", "100",
               "--strategies", "frozen,popularity,foldin,ease", "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "HR@10" in text and "foldin" in text
    data = json.loads(out.read_text())
    assert data["events"] == 300
    assert data["engine_path"]["log_events"] == 300
    assert set(data["strategies"]) == {"frozen", "popularity", "foldin", "ease"}
    for row in data["strategies"].values():
        assert 0.0 <= row["hr_at_10"] <= 1.0 and row["us_per_event"] > 0
    assert home.event_log.exists() is False or logged(home) == 0, "the user's own log is untouched"

"""``recsys-tui tune --online``: the online weighting searched on the training-period validation
stream (never the replay's test events), with every bad grid refused before any work."""

from __future__ import annotations

import pytest
from recsys_tui.common.errors import RecsysError
from recsys_tui.data.fetch import load
from recsys_tui.training.replay import online_groups
from recsys_tui.training.tune_online import (
    DEFAULT_ONLINE_GRID,
    _points,
    parse_grid,
    plan,
    tune_online,
)

from recsys_tui.cli import main


def test_default_grid_searches_weight_by_decay_and_weight_one_once():
    points = _points(DEFAULT_ONLINE_GRID)
    assert {"online_weight": 64.0, "online_decay": 0.7} in points
    assert sum(p["online_weight"] == 1.0 for p in points) == 1
    assert len(points) == 1 + 3 * 3


def test_grid_keys_are_model_parameters_or_scorer_parameters():
    grid = parse_grid("als", ["online_weight=16,64", "ease.decay=0.8,0.9", "user_idf=true,false"])
    assert grid == {"online_weight": [16, 64], "ease.decay": [0.8, 0.9], "user_idf": [True, False]}
    assert plan("als", grid) == (["popularity", "foldin", "ease", "transitions", "blend"], "blend")
    assert plan("als", {"online_weight": [2.0]}) == (["popularity", "foldin"], "foldin")


def test_scorer_overrides_replace_only_what_they_name():
    groups = online_groups({"ease": {"decay": 0.5}})
    assert groups["ease"]["decay"] == 0.5 and groups["ease"]["l2"] == online_groups()["ease"]["l2"]


@pytest.mark.parametrize(("model", "specs", "word"), [
    ("als", ["online_weight=0.5"], "online_weight"),
    ("als", ["online_decay=0"], "online_decay"),
    ("als", ["nope=1"], "nope"),
    ("als", ["ease.nope=1"], "nope"),
    ("als", ["magic.decay=1"], "magic"),
    ("als", ["ease.decay=-1"], "ease.decay"),
    ("als", ["ease.decay=nan"], "ease.decay"),
    ("als", ["ease.l2=0.5"], "l2"),
    ("ease", ["online_weight=2"], "online_weight"),
    ("als", ["online_weight"], "key=v1"),
])
def test_bad_grids_are_refused(model, specs, word):
    with pytest.raises(RecsysError) as info:  # TuneOnlineError, or the model's ParamError
        parse_grid(model, specs)
    assert word in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("args", [
    ["tune", "--online", "--grid", "online_weight=0.5"],
    ["tune", "--online", "--metric", "ease"],
    ["tune", "--online", "--limit", "0"],
    ["tune", "--online", "--model", "ease"],
    ["tune", "--grid", "online_weight=2"],
])
def test_cli_refuses_bad_online_tuning_before_any_work(capsys, tmp_path, args):
    root = tmp_path / "fresh"
    assert main(["--home", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recsys-tui: error: ") and err.count("\n") == 1
    assert not root.exists()


@pytest.mark.slow
def test_online_search_replays_the_validation_stream(ml100k_data, tmp_path):
    dataset = load(ml100k_data)
    result = tune_online(dataset, {"online_weight": [1.0, 64.0], "online_decay": [0.7]},
                         limit=300, workdir=tmp_path)
    n = len(dataset.interactions)
    assert result.n_fit == int(n * 0.8 * 0.8)  # fit on 64% of the ratings by time, never the test part
    assert result.n_events == 300 and len(result.rows) == 2
    by_weight = {r.params["online_weight"]: r for r in result.rows}
    assert by_weight[1.0].params["online_decay"] == 1.0  # weight 1: the decay is moot
    assert by_weight[1.0].hr["popularity"] == by_weight[64.0].hr["popularity"]  # same stream
    assert by_weight[1.0].hr["foldin"] != by_weight[64.0].hr["foldin"]  # the weighting acts
    table = result.table()
    assert table[0]["foldin HR@10"] >= table[1]["foldin HR@10"]
    assert result.to_json()["best_params"] == result.best.params


@pytest.mark.slow
def test_cli_prints_the_table_and_writes_json(capsys, home, tmp_path):
    import json

    out_json = tmp_path / "online.json"
    rc = main(["--home", str(home.root), "tune", "--online", "--grid", "online_weight=1,64",
               "--grid", "online_decay=0.7", "--limit", "60", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "HR@10" in out and "foldin" in out and "×pop" in out and "best on the validation" in out
    report = json.loads(out_json.read_text())
    assert report["protocol"]["n_validation_events"] == 60
    assert sorted(r["online_weight"] for r in report["rows"]) == [1, 64]
    assert report["best_params"]["online_weight"] in (1, 64)

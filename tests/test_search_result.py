"""The two hyper-parameter searches rank their rows one way: ``best`` is the table's first row."""

from __future__ import annotations

from recsys_tui.training.tune import TuneResult, TuneRow
from recsys_tui.training.tune_online import OnlineRow, OnlineTuneResult


def metrics(ndcg: float, precision: float) -> dict[str, float]:
    return {"ndcg": ndcg, "precision": precision, "recall": 0.1, "map": 0.1}


def test_offline_search_ranks_by_metric_then_precision():
    result = TuneResult(model="als", metric="ndcg", n_fit=10, seed=42, method="grid", repeats=1, n_valid=5)
    result.rows += [TuneRow({"l2": 1}, metrics(0.2, 0.1), 1.0), TuneRow({"l2": 2}, metrics(0.3, 0.1), 1.0),
                    TuneRow({"l2": 3}, metrics(0.3, 0.2), 1.0), TuneRow({"l2": 4}, metrics(0.1, 0.9), 1.0)]
    assert result.best_params == {"l2": 3}
    assert [row["l2"] for row in result.table()] == [3, 2, 1, 4]


def test_online_search_ranks_by_the_metric_strategy_and_keeps_ties_in_order():
    result = OnlineTuneResult(model="als", metric="foldin", n_fit=10, n_events=5, n_new_events=1)
    for weight, hr in ((1, 0.10), (16, 0.12), (64, 0.12), (128, 0.05)):
        result.rows.append(OnlineRow({"online_weight": weight}, {"foldin": hr, "popularity": 0.05},
                                     0.0, 0.0, 1.0))
    assert result.best.params == {"online_weight": 16}
    table = result.table()
    assert [row["online_weight"] for row in table] == [16, 64, 1, 128]
    assert table[0]["foldin/popularity"] == 0.12 / 0.05

"""The scale benchmark at a tiny scale: every phase runs and reports sane numbers (no timing limits)."""

from __future__ import annotations

import json
import math

import pytest

from recsys_tui.cli import main
from recsys_tui.scale_bench import COLUMNS, _get, table


def test_table_has_one_row_per_scale_and_every_column():
    rows = [{"scale": 0.01, "ratings": 250_000, "event_flat_ms": {"p50": 1.0, "p99": 2.5}},
            {"scale": 0.1, "ratings": 2_500_000}]
    md = table(rows).splitlines()
    assert len(md) == 4 and md[0].count("|") == len(COLUMNS) + 2
    assert "| 0.01 | 250,000 |" in md[2] and "2.50" in md[2] and "nan" in md[3]
    assert math.isnan(_get(rows[1], "event_flat_ms.p99"))


@pytest.mark.parametrize(("args", "words"), [
    (["--scales", "2"], "between 0.0001 and 1"), (["--scales", "x"], "comma-separated numbers"),
    (["--events", "5"], "--events must be"), (["--workdir", "/nonexistent/wd"], "no such folder"),
])
def test_bad_flags(capsys, tmp_path, args, words):
    rc = main(["--home", str(tmp_path), "scale-bench", "--out", str(tmp_path / "o"), *args])
    assert rc == 2 and words in capsys.readouterr().err


@pytest.mark.slow
def test_small_scale_run_end_to_end(capsys, tmp_path):
    out = tmp_path / "out"
    rc = main(["scale-bench", "--scales", "0.001", "--events", "20", "--out", str(out),
               "--workdir", str(tmp_path)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    data = json.loads((out / "scale.json").read_text())
    assert data["synthetic"] is True and len(data["rows"]) == 1
    row = data["rows"][0]
    assert row["ratings"] > 20_000 and row["users"] == 163 and row["items"] > 1_000
    for key in ("load_s", "fit_s", "index_flat_s", "index_hnsw_s", "batch_top10_s", "engine_open_s",
                "startup_to_login_s", "startup_to_usable_s", "train_peak_rss_mb", "peak_rss_mb"):
        assert row[key] > 0, key
    assert 0 < row["event_flat_ms"]["p50"] <= row["event_flat_ms"]["p99"]
    assert 0 < row["event_hnsw_ms"]["p50"] <= row["event_hnsw_ms"]["p99"]
    assert 0.95 <= row["hnsw_recall_at_10"] <= 1.0 and row["hnsw_recall_queries"] > 50
    # the hot path's unseen lists: long histories take the exact scan, so the heaviest users lose nothing
    assert row["hnsw_unseen_recall_heavy"] == 1.0 and row["hnsw_unseen_recall_at_10"] >= 0.9
    tuning = row["hnsw_tuning"]
    assert tuning["recall"] >= 0.96 and row["hnsw_params"]["efSearch"] == tuning["efSearch"]
    assert 0 < row["hnsw_query_ms"]["p50"] <= row["hnsw_query_ms"]["p99"]
    assert row["search_keystroke_ms"]["p50"] > 0
    assert row["startup_to_usable_s"] >= row["startup_to_login_s"]
    assert 0 < row["tui_search_keystroke_ms"]["p50"] <= row["tui_search_keystroke_ms"]["p99"]
    assert "| 0.001 |" in (out / "scale.md").read_text()
    assert not list(tmp_path.glob("recsys-tui-scale-*"))  # the throw-away homes are gone

"""``recsys-tui bench``: a small real run — report schema, sanity, and the user's home left alone."""

from __future__ import annotations

import json

import pytest
from recsys_tui.core.feature_store import FeatureStore
from recsys_tui.core.keys import EPOCH
from recsys_tui.core.results import STEPS
from recsys_tui.core.store_script import LIBRARY
from recsys_tui.training.bench import BenchError, BenchOptions, percentiles, run
from recsys_tui.training.bench_synthetic import recall_at_k

from recsys_tui.cli import main
from tests.events import logged

pytestmark = pytest.mark.integration


def _ordered(p: dict) -> bool:
    return p["p50"] <= p["p95"] <= p["p99"]


def test_bench_report_schema_and_sanity(home):
    before = logged(home)
    report = run(home, BenchOptions(events=200, warmup=20, synthetic_items=2000, synthetic_queries=50,
                                    batch_runs=2))
    assert report["events"] == 200 and report["warmup"] == 20
    assert report["logged_events"] == 220
    assert sum(report["kinds"].values()) == 200 and report["kinds"]["rating"] > 0
    assert report["users"] > 50, "events are spread over many users"
    assert report["degraded_events"] == 0
    assert report["store"] == "fakeredis" and report["index"] == "flat"
    assert _ordered(report["event_to_recs_ms"]) and report["event_to_recs_ms"]["p50"] > 0
    assert set(report["steps_ms"]) == set(STEPS)
    for step, row in report["steps_ms"].items():
        assert _ordered(row), step
        assert row["p99"] <= report["event_to_recs_ms"]["p99"] + 1e-9, step  # each step ≤ its total
    assert report["events_per_s"] > 0 and report["peak_rss_mb"] > 10
    batch = report["batch"]
    assert batch["users"] == 943 and batch["runs"] == 2
    assert batch["min_s"] <= batch["median_s"] <= batch["max_s"]
    syn = report["synthetic"]
    assert syn["items"] == 2000 and syn["dim"] == 64 and syn["queries"] == 50
    assert set(syn["indexes"]) == {"flat", "hnsw", "ivf"}
    assert syn["indexes"]["flat"]["recall_at_10"] == 1.0
    for kind, row in syn["indexes"].items():
        assert 0.0 <= row["recall_at_10"] <= 1.0, kind
        assert row["p50_ms"] <= row["p99_ms"] and row["build_s"] >= 0, kind
    assert syn["indexes"]["hnsw"]["params"]["M"] > 0 and syn["indexes"]["ivf"]["params"]["nprobe"] > 0
    assert logged(home) == before, "bench events must never reach the user's event log"
    assert json.loads(json.dumps(report)) == report, "the report is plain JSON"


def test_bench_cli_writes_json_atomically(home, tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["--home", str(home.root), "bench", "--events", "100", "--warmup", "10",
               "--index", "hnsw", "--json", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert set(data["event_to_recs_ms"]) >= {"p50", "p95", "p99"}
    assert all({"p50", "p99"} <= set(data["steps_ms"][s]) for s in STEPS)
    assert data["store"] == "fakeredis" and data["index"] == "hnsw" and data["events"] == 100
    assert "synthetic" not in data and data["batch"]["users"] == 943
    assert not list(tmp_path.glob(".bench.json.*")), "no temp file left behind"
    assert "event_to_recs" in capsys.readouterr().out


def test_bench_contended_reference_heavy_users_and_threads(home):
    import psutil

    report = run(home, BenchOptions(events=60, warmup=10, contend=1, reference=True, batch_runs=1))
    busy = report["contended"]
    assert busy["processes"] == 1 and busy["events"] == 60 and _ordered(busy["event_to_recs_ms"])
    assert busy["ratio_to_quiet"]["p99"] == pytest.approx(
        busy["event_to_recs_ms"]["p99"] / report["event_to_recs_ms"]["p99"])
    assert report["logged_events"] == 10 + 60 + 60
    ref = report["reference_ms"]
    assert 0 < ref["p50"] <= ref["p99"] and set(ref["parts_ms"]) == {"solve", "search", "store"}
    assert 0 < ref["script_call_ms"]["p50"] <= ref["script_call_ms"]["p99"]
    assert ref["script_call_command"] == "FCALL"  # the floor is timed the way the engine writes
    quiet = report["event_to_recs_ms"]
    assert report["ratio_to_reference"]["p50"] == pytest.approx(quiet["p50"] / ref["p50"])
    heavy = report["heavy_users"]
    assert {"13", "405"} <= set(heavy) and len(heavy) == 3
    assert heavy["405"]["ratings"] > 600 and min(r["ratings"] for r in heavy.values()) <= 20
    assert all(r["foldin_ms"]["p50"] > 0 for r in heavy.values())
    serving = report["threads"]["serving"]
    assert serving["faiss_omp_threads"] == 1 and {lib["num_threads"] for lib in serving["libraries"]} == {1}
    hogs = [p for p in psutil.Process().children(recursive=True) if "time.monotonic" in " ".join(p.cmdline())]
    assert hogs == [], "the bench stops its background processes"
    assert json.loads(json.dumps(report)) == report


@pytest.mark.redis
def test_bench_real_redis_cleans_up_and_refuses_live_store(home, redis_server):
    report = run(home, BenchOptions(events=50, warmup=5, redis_url=redis_server.url, batch_runs=1,
                                    reference=True))
    assert report["store"] == "redis" and report["degraded_events"] == 0
    assert report["store_keys_removed"] > 0
    assert report["reference_ms"]["script_call_command"] == "FCALL"
    store = FeatureStore.open(redis_server.url)
    assert store.all_keys() == [], "the bench leaves no keys behind"
    names = [lib[1].decode() for lib in store.client.function_list()]
    assert names == [LIBRARY], "only the write's library stays loaded (the floor's is deleted)"
    store.client.hset(EPOCH, mapping={"seed": "live"})
    with pytest.raises(BenchError, match="already holds"):
        run(home, BenchOptions(events=10, redis_url=redis_server.url))
    assert store.client.exists(EPOCH), "a live store is never touched"


@pytest.mark.parametrize("args, words", [
    (["--events", "0"], "--events"),
    (["--events", "-3"], "--events"),
    (["--index", "annoy"], "index type"),
    (["--synthetic-items", "10"], "--synthetic-items"),
    (["--warmup", "-1"], "--warmup"),
    (["--contend", "99"], "--contend"),
    (["--redis-url", "http://x"], "malformed Redis URL"),
])
def test_bad_flags_one_line_error(home, capsys, args, words):
    before = logged(home)
    rc = main(["--home", str(home.root), "bench", *args])
    err = capsys.readouterr().err
    assert rc != 0
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert logged(home) == before


def test_bench_needs_a_trained_home(tmp_path, capsys):
    rc = main(["--home", str(tmp_path / "empty"), "bench", "--events", "10"])
    assert rc == 1 and "recsys-tui train" in capsys.readouterr().err


def test_percentiles_and_recall():
    p = percentiles(list(range(1, 101)))
    assert p["p50"] == pytest.approx(50.5) and p["p95"] <= p["p99"] <= 100
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    import numpy as np

    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_at_k(exact, exact) == 1.0
    assert recall_at_k(np.array([[1, 2, 9, 9], [8, 7, 6, 5]]), exact) == pytest.approx(0.75)

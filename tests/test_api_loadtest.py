"""``recsys-tui loadtest``: refuses what it must (non-loopback targets, bad mixes), and against a
real server reports every route, holds idle connections, and audits every acknowledged event."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("aiohttp")
from recsys_tui.api.loadtest import LoadPlan, LoadTestError, loopback_target, parse_mix

from tests.api_helpers import CliServer


def test_mix_parsing():
    assert parse_mix("recommend:9,events:1") == {"recommend": 9, "events": 1}
    assert parse_mix("recommend:1, similar:0") == {"recommend": 1}
    for bad in ("recommend", "recommend:x", "buy:1", "recommend:0", "recommend:-1", ""):
        with pytest.raises(LoadTestError):
            parse_mix(bad)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:9000",
                                 "http://127.0.0.2:80"])
def test_loopback_urls_are_accepted(url):
    assert loopback_target(url)[1] in (8000, 9000, 80)


@pytest.mark.parametrize("url", ["http://192.0.2.1:8000", "http://example.invalid:80", "ftp://127.0.0.1/",
                                 "127.0.0.1:8000", "http://10.0.0.1"])
def test_other_hosts_are_refused(url):
    with pytest.raises(LoadTestError):
        loopback_target(url)


@pytest.mark.parametrize("field,value", [("duration_s", 0), ("duration_s", 601), ("connections", 0),
                                         ("connections", 5000), ("idle", -1), ("max_requests", 0)])
def test_plans_are_bounded(field, value):
    with pytest.raises(LoadTestError):
        LoadPlan("http://127.0.0.1:1", **{field: value}).check()


def test_cli_refuses_a_remote_target_with_one_line():
    result = subprocess.run([sys.executable, "-m", "recsys_tui", "loadtest", "--url", "http://192.0.2.1:8000",
                             "--duration", "1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "loopback" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.integration
@pytest.mark.slow
def test_a_short_run_reports_routes_idle_connections_and_audits_events(home, tmp_path):
    server = CliServer(home.root, "serve").start()
    try:
        out = tmp_path / "report.json"
        result = subprocess.run(
            [sys.executable, "-m", "recsys_tui", "loadtest", "--url", server.url, "--duration", "2",
             "--warmup", "0.5", "--connections", "8", "--idle", "50", "--event-users", "4",
             "--mix", "recommend:3,events:1,similar:1", "--out", str(out)],
            capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    rows = {r["route"]: r for r in report["routes"]}
    assert set(rows) == {"recommend", "events", "similar"}
    assert all(r["ok"] > 0 and r["errors"] == 0 and r["p50_ms"] <= r["p99_ms"] for r in rows.values())
    assert report["idle_connections"] == {"asked": 50, "opened": 50, "alive_at_end": 50}
    events = report["events"]
    assert events["acknowledged"] == rows["events"]["ok"] and events["lost"] == 0
    assert events["duplicated"] == 0 and events["logged_but_not_acknowledged"] == 0
    server_events = sum(report["server_metrics"]["events_recorded"].values())
    assert server_events >= events["acknowledged"]
    assert "GET /recommend 200" in report["server_metrics"]["requests"]
    assert "recommend" in result.stdout and "client CPU" in result.stdout

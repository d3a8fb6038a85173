"""``recsys-tui loadtest``: refuses what it must (non-loopback targets, bad mixes), and against a
real server reports every route, holds idle connections, and audits every acknowledged event."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

pytest.importorskip("aiohttp")
from recsys_tui.api.loadtest import LoadPlan, LoadTestError, loopback_target, parse_mix, run_load

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
                                         ("connections", 5000), ("idle", -1), ("max_requests", 0),
                                         ("rate", -1), ("rate", float("nan")), ("rate", 10**6)])
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


class _StallingServer:
    """A stand-in API on a free loopback port whose ``/recommend`` stalls once for ``stall_s``.

    The unit under test is the load generator's clock, which needs a stall at a known moment; the
    real server cannot be made to stall on cue, so this one answers with a fixed body."""

    def __init__(self, stall_after: int, stall_s: float) -> None:
        self.stall_after, self.stall_s, self.seen = stall_after, stall_s, 0

    async def recommend(self, request):
        from aiohttp import web

        self.seen += 1
        if self.seen == self.stall_after:
            await asyncio.sleep(self.stall_s)
        return web.json_response({"items": []})

    @staticmethod
    async def healthz(request):
        from aiohttp import web

        return web.json_response({"status": "ok"})

    async def serve(self, plan_for):
        from aiohttp import web
        from recsys_tui.faults.servers import free_port

        app = web.Application()
        app.router.add_get("/recommend", self.recommend)
        app.router.add_get("/healthz", self.healthz)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            return await run_load(plan_for(f"http://127.0.0.1:{port}"))
        finally:
            await runner.cleanup()


def test_fixed_rate_counts_a_stall_for_every_request_it_delayed():
    """One connection at 100 requests/s; one answer takes 0.5 s. From the send, only that one
    request was slow (coordinated omission); from the schedule, the ~50 queued behind it were too."""
    stub = _StallingServer(stall_after=30, stall_s=0.5)
    report = asyncio.run(stub.serve(lambda url: LoadPlan(url, duration_s=2.0, connections=1,
                                                         mix={"recommend": 1}, warmup_s=0, rate=100)))
    stats = report.routes["recommend"]
    assert len(stats.latencies_ns) == 200 and stats.errors == 0  # the schedule, not the speed, sets the count
    slow_from_schedule = sum(v > 100e6 for v in stats.latencies_ns)
    slow_from_send = sum(v > 100e6 for v in stats.from_send_ns)
    assert slow_from_send == 1
    assert 35 <= slow_from_schedule <= 60
    out = report.as_dict()
    assert out["mode"] == "fixed-rate" and out["offered_rate"] == 100
    assert out["client_behind_schedule_max_ms"] >= 400
    row = out["routes"][0]
    assert row["p99_ms"] > 400 > row["p99_from_send_ms"]


def test_closed_loop_measures_from_the_send():
    stub = _StallingServer(stall_after=10, stall_s=0.3)
    report = asyncio.run(stub.serve(lambda url: LoadPlan(url, duration_s=1.0, connections=1,
                                                         mix={"recommend": 1}, warmup_s=0)))
    stats = report.routes["recommend"]
    assert sum(v > 100e6 for v in stats.latencies_ns) == 1 and not stats.from_send_ns
    out = report.as_dict()
    assert out["mode"] == "closed-loop" and out["offered_rate"] is None
    assert "p99_from_send_ms" not in out["routes"][0]


@pytest.mark.integration
@pytest.mark.slow
def test_a_fixed_rate_run_sends_exactly_its_schedule(home, tmp_path):
    server = CliServer(home.root, "serve").start()
    try:
        out = tmp_path / "report.json"
        result = subprocess.run(
            [sys.executable, "-m", "recsys_tui", "loadtest", "--url", server.url, "--duration", "2",
             "--warmup", "0.5", "--connections", "4", "--rate", "60", "--mix", "recommend:1",
             "--out", str(out)], capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "fixed-rate" and report["offered_rate"] == 60
    row = report["routes"][0]
    assert row["requests"] == 120 and row["errors"] == 0
    assert row["p50_from_send_ms"] <= row["p50_ms"]
    assert report["client_cpu"]["share_of_one_core"] > 0
    busy = report["client_cpu"]["machine_busy_share"]
    assert busy is None or 0 < busy <= 1
    assert report["client_event_loop"] in ("uvloop", "asyncio")
    assert "fixed rate 60/s" in result.stdout and "scheduled send time" in result.stdout

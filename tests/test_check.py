"""``recsys-tui check``: the report's numbers, the JSON file, and the clean refusal without redis-server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from recsys_tui.core.event_log import EventLog
from recsys_tui.faults.outcome import Outcome, totals
from recsys_tui.faults.workload import event_stream, one_clean_line, run_cli

REQUIRED = {"faults_injected", "faults_survived", "events_written", "events_found", "bad_inputs_tried",
            "crashes"}


@pytest.mark.redis
@pytest.mark.faults
def test_check_writes_the_table_and_json_and_never_touches_the_users_log(home, tmp_path, redis_server):
    log = EventLog(home.event_log)
    log.append(1, 1, "rating", 5.0)  # the user's own log: must stay exactly as it is
    log.close()
    out = tmp_path / "report.json"
    rc, stdout, stderr = run_cli(["--home", str(home.root), "check", "--quick", "--json", str(out),
                                        "--only", "redis-unreachable", "--only", "bad-inputs",
                                        "--only", "publish-killed"])
    assert rc == 0, stdout + stderr
    report = json.loads(out.read_text())
    assert set(report) >= REQUIRED and report["backends"] == ["sqlite-redis"]
    assert report["faults_injected"] == report["faults_survived"] > 0
    assert report["crashes"] == 0 and report["bad_inputs_tried"] > 1000
    assert report["events_written"] == report["events_found"]
    for column in ("faults injected", "survived", "events written", "events found", "bad inputs tried",
                   "crashes"):
        assert column in " ".join(stdout.split()), column
    log = EventLog(home.event_log)
    assert [e.item_id for e in log.events()] == [1]
    log.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]  # atomic write left no temp


def test_check_without_redis_server_is_one_clean_line(home, tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # nothing on PATH: no redis-server
    proc = subprocess.run([sys.executable, "-m", "recsys_tui", "--home", str(home.root), "check", "--quick"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert one_clean_line(proc.stderr) is None, proc.stderr
    assert "redis-server" in proc.stderr


def test_check_refuses_an_unknown_scenario(home):
    rc, _, stderr = run_cli(["--home", str(home.root), "check", "--only", "nope"])
    assert rc == 2 and one_clean_line(stderr) is None and "unknown scenario" in stderr  # usage


def test_totals_add_up():
    a, b = Outcome("a"), Outcome("b")
    a.fault("x", True)
    a.fault("y", False, "broke")
    b.fault("z", True)
    a.events_written, a.events_found, b.bad_inputs, b.crashes = 5, 4, 10, 1
    assert totals([a, b]) == {"faults_injected": 3, "faults_survived": 2, "events_written": 5,
                                    "events_found": 4, "bad_inputs_tried": 10, "crashes": 1}
    assert a.failures == ["y: broke"]


def test_event_streams_are_deterministic_and_undo_only_live_events():
    one = event_stream(3, 500, [1, 2, 3], undo_share=0.2)
    assert one == event_stream(3, 500, [1, 2, 3], undo_share=0.2)
    live = dict.fromkeys([1, 2, 3], 0)
    for kind, user, _, _ in one:
        live[user] += -1 if kind == "undo" else 1
        assert live[user] >= 0
    assert any(kind == "undo" for kind, *_ in one)

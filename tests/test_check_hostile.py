"""``recsys-tui check`` runs the hostile-text and training-files scenarios end to end."""

from __future__ import annotations

import json

import pytest
from recsys_tui.faults.workload import run_cli


def run_scenario(home, tmp_path, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    rc, stdout, stderr = run_cli(["--home", str(home.root), "check", "--quick", "--only", name,
                                        "--json", str(out)], timeout=900)
    assert out.exists(), stdout + stderr
    report = json.loads(out.read_text())
    failures = [f for s in report["scenarios"] for f in s["failures"]]
    assert rc == 0 and not failures, failures
    return report


@pytest.mark.slow
@pytest.mark.faults
def test_check_hostile_text_scenario_survives(home, tmp_path):
    report = run_scenario(home, tmp_path, "hostile-text")
    assert report["faults_injected"] == report["faults_survived"] >= 20
    assert report["crashes"] == 0 and report["events_written"] == report["events_found"] > 0


@pytest.mark.slow
@pytest.mark.faults
def test_check_training_files_scenario_survives(home, tmp_path):
    report = run_scenario(home, tmp_path, "training-files")
    assert report["faults_injected"] == report["faults_survived"] >= 14
    assert report["crashes"] == 0

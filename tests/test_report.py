"""Adaptation, differentiation and the report command (ML-100K, quick settings)."""

from __future__ import annotations

import json

import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.training.report import adaptation, differentiation, temp_copy

from recsys_tui.cli import main
from tests.events import logged

pytestmark = pytest.mark.integration


def test_adaptation_and_differentiation_through_the_engine(home, tmp_path):
    engine = Engine.open(temp_copy(home, tmp_path / "copy"))
    try:
        diff = differentiation(engine)
        adapt = adaptation(engine, n_users=40, seed=3)
        logged = engine.log.count()
    finally:
        engine.close()
    assert diff.users == 943
    rows = diff.rows
    assert set(rows) == {"als", "popularity", "random"}
    assert rows["als"]["personalization"] > rows["popularity"]["personalization"]
    assert rows["als"]["coverage"] > rows["popularity"]["coverage"]
    assert rows["random"]["coverage"] > 0.9
    assert adapt.users == 40 and logged == 40, "one logged 5-star rating per user"
    assert adapt.rated_item_shown == 0, "a rated movie never comes back in the list"
    assert adapt.changed_share > 0.8 and 0 < adapt.mean_changed_positions <= 10


def test_report_command_writes_markdown_and_json(home, tmp_path, capsys):
    out = tmp_path / "reports"
    rc = main(["--home", str(home.root), "report", "--out", str(out), "--limit", "200", "--seeds", "42",
               "--models", "als"])
    assert rc == 0, capsys.readouterr().err
    md = list(out.glob("report-*.md"))
    js = list(out.glob("report-*.json"))
    assert len(md) == 1 and len(js) == 1
    data = json.loads(js[0].read_text())
    assert data["replay"]["events"] == 200
    assert data["adaptation"]["users"] == 200 and data["adaptation"]["rated_item_shown"] == 0
    assert set(data["eval"]["summary"]) == {"random", "popularity", "als"}
    assert data["command"].startswith("recsys-tui ") and "numpy" in data["versions"]
    text = md[0].read_text()
    for heading in ("Offline evaluation", "Prequential replay", "Adaptation", "Differentiation"):
        assert heading in text
    assert data["command"] in text and "numpy " in text
    assert not home.event_log.exists() or logged(home) == 0, "the home's own log is untouched"


def test_report_refuses_bad_flags(home, tmp_path, capsys):
    assert main(["--home", str(home.root), "report", "--seeds", "x"]) != 0
    assert main(["--home", str(home.root), "report", "--models", "nope", "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--seeds" in err[0] and "unknown model" in err[1]

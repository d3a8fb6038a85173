"""Issue 11 item 5: timed manifests, @k headings, explicit data sources, usage exits, readable
history times, nothing hard-coded about the data set or the model in help and messages."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from recsys_tui.core import artifacts
from recsys_tui.data.cache import cache_dir

from recsys_tui.cli import main
from tests.events import logged

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, home_root: Path, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(home_root), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_published_manifest_times_the_publish_and_the_total(home):
    manifest = artifacts.read_manifest(home.artifacts / artifacts.current_version(home.artifacts))
    t = manifest["timings"]
    assert t["publish_s"] > 0  # was written as 0.0 before the publish ran
    # the total is measured from the start of loading, so it covers every stage before it
    assert t["total_s"] >= t["load_s"] + t["fit_s"] + t["publish_s"]


def test_eval_table_is_headed_at_the_list_length():
    from recsys_tui.training.evaluate import METRICS

    from recsys_tui.commands.evaluate import eval_table

    summary = {"als": {m: {"mean": 0.1, "std": 0.0} for m in (*METRICS, "fit_s")}}
    headers = [c.header for c in eval_table(summary, "t", 5).columns]
    assert headers[1:5] == ["P@5", "R@5", "NDCG@5", "MAP@5"] and "coverage@5" in headers
    assert not any("@10" in h for h in headers)


@pytest.mark.slow
def test_eval_k5_prints_at5_columns(capsys, home):
    rc, out, err = run(capsys, home.root, "eval", "--models", "ease", "--seeds", "42", "-k", "5",
                       "--protocol", "temporal")
    assert rc == 0, err
    assert "P@5" in out and "NDCG@5" in out and "@10" not in out


def test_data_fetch_nonexistent_source_is_a_usage_error_even_with_a_cache(capsys, home):
    before = (cache_dir(home.data) / "manifest.json").read_bytes()
    rc, _, err = run(capsys, home.root, "data", "fetch", "--source", "/nonexistent/ml-100k.zip")
    assert rc == 2 and "no such file" in err
    assert (cache_dir(home.data) / "manifest.json").read_bytes() == before


def test_data_fetch_checks_an_explicit_source_against_the_cache(capsys, home, tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t10\n", encoding="latin-1")
    (folder / "u.item").write_text("1|A (1990)|||x|" + "|".join("0" * 19) + "\n", encoding="latin-1")
    (folder / "u.user").write_text("1|20|M|other|00000\n", encoding="latin-1")
    before = {p.name: p.read_bytes() for p in cache_dir(home.data).iterdir()}
    rc, out, err = run(capsys, home.root, "data", "fetch", "--source", str(folder))
    assert rc == 1, out  # read and verified: it is not ML-100K (was: "already cached", exit 0)
    assert err.startswith("recsys-tui: error: ") and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in cache_dir(home.data).iterdir()} == before


USAGE = [
    ["recommend", "--user", "0"],
    ["recommend", "--user", "-3"],
    ["similar", "--item", "0"],
    ["history", "--user", "0"],
    ["rate", "-u", "1", "-i", "0", "-r", "4"],
    ["click", "-u", "0", "-i", "1"],
    ["undo", "--user", "0"],
    ["--redis-url", "http://127.0.0.1:6379/0", "recommend", "--user", "1"],
    ["--redis-url", "redis://127.0.0.1:notaport/0", "status"],
    ["--redis-url", "localhost:6379", "status"],
]


@pytest.mark.parametrize("args", USAGE, ids=[" ".join(a) for a in USAGE])
def test_usage_errors_exit_2_before_any_work(capsys, tmp_path, args):
    root = tmp_path / "fresh"
    rc, _, err = run(capsys, root, *args)
    assert rc == 2, err
    assert err.startswith("recsys-tui: error: ") and err.count("\n") == 1
    assert not root.exists()  # no fetch, no training, no home


def test_unknown_but_valid_ids_stay_engine_errors(capsys, home):
    rc, _, err = run(capsys, home.root, "recommend", "--user", "5000")
    assert rc == 1 and "unknown user 5000" in err


def test_history_prints_readable_times(capsys, home):
    assert run(capsys, home.root, "rate", "-u", "1", "-i", "50", "-r", "4")[0] == 0
    assert logged(home) == 1
    rc, out, _ = run(capsys, home.root, "history", "--user", "1")
    assert rc == 0
    ts = json.loads(run(capsys, home.root, "history", "--user", "1", "--format", "json")[1])[0]["ts"]
    readable = datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")
    assert readable in out and str(ts) not in out


def test_help_does_not_hard_code_the_data_set_or_the_model(capsys):
    for command in ("recommend", "rate", "click", "similar", "history", "undo"):
        assert main([command, "--help"]) == 0
        out = capsys.readouterr().out
        assert not re.search(r"\b(943|1682|1,682)\b", out), (command, out)
    stale = re.compile(r"1–943|1–1682|\(ALS, 64 factors\)")
    for room in ("recsys_tui", "core", "tui", "training"):
        for path in (ROOT / room).rglob("*.py"):
            assert not stale.search(path.read_text(encoding="utf-8")), path


@pytest.mark.slow
def test_first_run_message_names_the_default_model_and_its_size(tmp_path, ml100k_data):
    import shutil

    from recsys_tui.core.home import Home
    from recsys_tui.models.registry import model_class

    from recsys_tui.bootstrap import DEFAULT_MODEL, ensure_ready

    home = Home(tmp_path / "h")
    shutil.copytree(ml100k_data, home.data)
    said: list[str] = []
    ensure_ready(home, said.append)
    manifest = artifacts.read_manifest(home.artifacts / artifacts.current_version(home.artifacts))
    factors = manifest["params"]["factors"]
    assert factors == model_class(DEFAULT_MODEL).defaults["factors"]
    assert f"training the default model ({manifest['model']}, {factors} factors)" in said

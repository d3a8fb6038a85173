"""The ``recsys-tui`` command line: every bad input is one line and a non-zero exit; happy paths work.

Most tests call ``recsys_tui.cli.main(argv)`` in-process (the same wrapper the console script uses)
with capsys; a few run the real console entry point in a subprocess end to end.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from recsys_tui.core import artifacts
from recsys_tui.core.results import STEPS
from recsys_tui.faults.workload import one_clean_line, run_cli

from recsys_tui.cli import main
from tests.events import logged
from tests.redis_server import free_port

PASSWORD = "pa55-Word-Never-Shown"


def run(capsys, home, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


# -- bad input ---------------------------------------------------------------------------------

BAD = [
    (["recommend", "--user", "5000"], "unknown user 5000"),
    (["recommend", "--user", "-1"], "user id"),
    (["recommend", "--user", "0"], "user id"),
    (["recommend", "--user", "99999999999999999999999"], "user id"),
    (["recommend", "--user", "five"], "--user"),
    (["recommend"], "--user"),
    (["recommend", "--user", "1", "--all-users"], "exactly one"),
    (["recommend", "--user", "1", "-k", "0"], "k must"),
    (["recommend", "--user", "1", "--format", "xml"], "format"),
    (["rate", "-u", "1", "-i", "1683", "-r", "4"], "unknown item 1683"),
    (["rate", "-u", "1", "-i", "-7", "-r", "4"], "item id"),
    (["rate", "-u", "1", "-i", "2147483648", "-r", "4"], "item id"),
    (["rate", "-u", "5000", "-i", "50", "-r", "4"], "unknown user"),
    (["rate", "-u", "1", "-i", "50", "-r", "0"], "rating"),
    (["rate", "-u", "1", "-i", "50", "-r", "6"], "rating"),
    (["rate", "-u", "1", "-i", "50", "-r", "3.5"], "rating"),
    (["rate", "-u", "1", "-i", "50", "-r", "five"], "rating"),
    (["rate", "-u", "1", "-i", "50", "-r", "nan"], "rating"),
    (["rate", "-u", "1", "-i", "50"], "--rating"),
    (["click", "-u", "1", "-i", "50", "--kind", "like"], "event kind"),
    (["similar", "--item", "99999"], "unknown item"),
    (["history", "--user", "-4"], "user id"),
    (["history", "--user", "1", "--format", "yaml"], "format"),
    (["undo", "--user", "1"], "nothing to undo"),
    (["train", "--model", "nope"], "unknown model"),
    (["train", "--index", "annoy"], "index"),
    (["train", "--model", "popularity", "--factors", "8"], "--factors"),
    (["train", "--param", "regularization=abc"], "regularization"),
    (["--redis-url", "http://127.0.0.1:6379/0", "recommend", "--user", "1"], "malformed Redis URL"),
    (["--redis-url", f"redis://:{PASSWORD}@127.0.0.1:notaport/0", "status"], "malformed Redis URL"),
    (["--redis-url", f"app:{PASSWORD}@localhost:6379", "status"], "malformed Redis URL"),
    (["nonsense-command"], "nonsense-command"),
]


@pytest.mark.parametrize(("args", "words"), BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_is_one_line_and_nonzero_exit(capsys, home, args, words):
    rc, out, err = run(capsys, home, *args)
    assert rc != 0, (out, err)
    assert one_clean_line(err) is None, err
    assert err.startswith("recsys-tui: error: "), err
    assert words in err, err
    assert PASSWORD not in out + err
    assert logged(home) == 0  # nothing half-written


def test_missing_and_malformed_ratings_files(capsys, home, tmp_path):
    rc, _, err = run(capsys, home, "train", "--ratings", str(tmp_path / "absent.csv"))
    assert rc != 0 and one_clean_line(err) is None and "no such file" in err
    bad = tmp_path / "mine.csv"
    bad.write_text("user_id,item_id,rating,timestamp\n1,50,5,100\n2,50,five,101\n")
    before = artifacts.current_version(home.artifacts)
    rc, _, err = run(capsys, home, "train", "--ratings", str(bad))
    assert rc == 1
    assert one_clean_line(err, progress=True) is None, err
    assert "mine.csv, line 3" in err and "rating" in err
    assert artifacts.current_version(home.artifacts) == before
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\xff\xfe" * 50)
    rc, _, err = run(capsys, home, "train", "--ratings", str(binary))
    assert rc == 1 and one_clean_line(err, progress=True) is None, err
    assert artifacts.current_version(home.artifacts) == before


def test_corrupt_artifacts_are_one_line_naming_the_fix(capsys, home):
    folder = home.artifacts / str(artifacts.current_version(home.artifacts))
    raw = bytearray((folder / "model.npz").read_bytes())
    raw[len(raw) // 3] ^= 0x10
    (folder / "model.npz").write_bytes(bytes(raw))
    for args in (["recommend", "--user", "1"], ["rate", "-u", "1", "-i", "50", "-r", "5"], ["status"]):
        rc, _, err = run(capsys, home, *args)
        assert rc == 1 and one_clean_line(err) is None, err
        assert "recsys-tui train" in err
    assert logged(home) == 0


def test_unreachable_redis_degrades_with_one_line_and_keeps_the_event(capsys, home):
    """docs/ARCHITECTURE.md §3: with Redis down the app keeps working from the log and says so (exit 0)."""
    url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"
    rc, out, err = run(capsys, home, "--redis-url", url, "rate", "-u", "2", "-i", "60", "-r", "5")
    assert rc == 0, err
    assert one_clean_line(err) is None, err
    assert "degraded" in err and "unreachable" in err and "event kept in the log" in err
    assert PASSWORD not in out + err
    assert logged(home) == 1
    rc, out, err = run(capsys, home, "--redis-url", url, "status")
    assert rc == 0 and "unreachable" in out and PASSWORD not in out + err


def test_subprocess_bad_inputs_end_to_end(home):
    for args in (["rate", "-u", "1", "-i", "50", "-r", "6"], ["recommend", "--user", "x"]):
        rc, _, stderr = run_cli(["--home", str(home.root), *args])
        assert rc != 0
        assert one_clean_line(stderr) is None, stderr
        assert stderr.startswith("recsys-tui: error: ")


# -- happy paths -------------------------------------------------------------------------------

def training_items(home, user: int) -> set[int]:
    trained = artifacts.load(home.artifacts).trained
    idx, _ = trained.history(user)
    return set(trained.items.ids[idx].tolist())


def test_recommend_json_csv_table(capsys, home):
    seen = training_items(home, 1)
    rc, out, err = run(capsys, home, "recommend", "--user", "1", "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert {"item_id", "title", "score", "reason"} <= set(rows[0])
    assert not seen & {r["item_id"] for r in rows}
    assert all(isinstance(r["score"], float) for r in rows)  # numbers, not strings
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    rc, out, _ = run(capsys, home, "recommend", "--user", "1", "--format", "csv", "-k", "5")
    table = list(csv.DictReader(io.StringIO(out)))
    assert rc == 0 and len(table) == 5
    assert [int(r["item_id"]) for r in table] == [r["item_id"] for r in rows[:5]]
    rc, out, _ = run(capsys, home, "recommend", "--user", "1")
    assert rc == 0
    assert "user 1" in out and "timing (ms):" in out and "total" in out


USAGE = [
    ["recommend", "--user", "1", "--format", "xml"],
    ["recommend"],
    ["recommend", "--user", "1", "-k", "0"],
    ["rate", "-u", "1", "-i", "50", "-r", "6"],
    ["train", "--model", "nope"],
    ["train", "--param", "regularization=abc"],
    ["eval", "--seeds", "x"],
    ["replay", "--window", "0"],
    ["bench", "--index", "annoy"],
    ["check", "--only", "nope"],
    ["demo", "--script", "x.script", "--size", "1x1"],
    ["recommend", "--no-such-flag"],
]


@pytest.mark.parametrize("args", USAGE, ids=[" ".join(a)[:50] for a in USAGE])
def test_usage_errors_exit_2_and_other_errors_exit_1(capsys, home, args):
    rc, _, err = run(capsys, home, *args)
    assert rc == 2, err
    assert one_clean_line(err) is None and err.startswith("recsys-tui: error: "), err
    rc, _, err = run(capsys, home, "recommend", "--user", "5000")  # a valid command line, unknown user
    assert rc == 1 and "unknown user 5000" in err


def test_recommend_all_users_json_scores_are_numbers(capsys, home):
    rc, out, err = run(capsys, home, "recommend", "--all-users", "-k", "2", "--format", "json")
    assert rc == 0, err
    rows = json.loads(out)
    assert len(rows) == 943 * 2 and all(isinstance(r["score"], float) for r in rows)


def test_recommend_all_users_csv(capsys, home):
    rc, out, err = run(capsys, home, "recommend", "--all-users", "--format", "csv")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "user_id,rank,item_id,score"
    rows = [tuple(map(float, line.split(","))) for line in lines[1:]]
    assert len(rows) == 943 * 10
    trained = artifacts.load(home.artifacts).trained
    by_user: dict[int, list[tuple[int, int]]] = {}
    for user, rank, item, _score in rows:
        by_user.setdefault(int(user), []).append((int(rank), int(item)))
    assert sorted(by_user) == list(range(1, 944))
    for user, recs in by_user.items():
        assert [r for r, _ in recs] == list(range(1, 11))
        idx, _ = trained.history(user)
        seen = set(trained.items.ids[idx].tolist())
        items = [i for _, i in recs]
        assert len(set(items)) == 10 and not seen & set(items), user


def test_rate_prints_changes_and_timings_then_history_and_undo(capsys, home):
    rc, before, _ = run(capsys, home, "recommend", "--user", "3", "--format", "json")
    first = json.loads(before)[0]["item_id"]
    rc, out, err = run(capsys, home, "rate", "--user", "3", "--item", str(first), "--rating", "5")
    assert rc == 0, err
    assert f"user 3 rated ★5 item {first}" in out
    assert "timing (ms):" in out
    for step in STEPS:
        assert step in out.split("timing (ms):")[1]
    assert "dropped out" in out  # the rated #1 left the list
    rc, out, _ = run(capsys, home, "click", "-u", "3", "-i", "1", "--format", "json")
    payload = json.loads(out)
    assert payload["kind"] == "click" and len(payload["before"]) == 10
    assert set(STEPS) | {"total"} <= set(payload["timings_ms"])
    assert all("change" in row for row in payload["after"])
    assert any(row["change"] for row in payload["after"])
    rc, out, _ = run(capsys, home, "history", "--user", "3", "--format", "json")
    history = json.loads(out)
    assert [(h["kind"], h["item_id"], h["rating"]) for h in history] == [
        ("rating", first, 5.0), ("click", 1, None)]
    rc, out, _ = run(capsys, home, "undo", "--user", "3", "--format", "json")
    assert rc == 0 and json.loads(out)["kind"] == "undo"
    rc, out, _ = run(capsys, home, "history", "--user", "3", "--format", "csv")
    assert out.splitlines()[0] == "event_id,ts,kind,item_id,title,rating"
    assert len(out.splitlines()) == 2


def test_new_user_similar_status_data_info(capsys, home):
    rc, out, _ = run(capsys, home, "new-user")
    assert rc == 0 and int(out.strip()) >= 944
    rc, out, _ = run(capsys, home, "similar", "--item", "50", "--format", "json")
    rows = json.loads(out)
    assert rc == 0 and len(rows) == 10 and 50 not in [r["item_id"] for r in rows]
    rc, out, _ = run(capsys, home, "similar", "--item", "50")
    assert rc == 0 and "Star Wars" in out
    rc, out, _ = run(capsys, home, "status")
    assert rc == 0
    assert artifacts.current_version(home.artifacts) in out
    assert "fakeredis" in out and str(home.root) in out
    rc, out, _ = run(capsys, home, "data", "info")
    assert rc == 0
    for text in ("100,000", "943", "1,682", "ratings 1★…5★"):
        assert text in out


def test_train_popularity_publishes_a_version(capsys, home):
    before = artifacts.current_version(home.artifacts)
    rc, out, err = run(capsys, home, "train", "--model", "popularity")
    assert rc == 0, err
    after = artifacts.current_version(home.artifacts)
    assert after != before and after in out.replace("\n", " ")
    assert artifacts.versions(home.artifacts) == [before, after]
    assert artifacts.load(home.artifacts).trained.name == "popularity"
    rc, out, _ = run(capsys, home, "recommend", "--user", "1", "--format", "json")
    assert rc == 0 and len(json.loads(out)) == 10

"""A data set whose titles carry markup, actions and escape sequences: the loader cleans and counts,
every CLI command shows the text without obeying it (issue 12, part 1)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing

import pytest
from recsys_tui.common.text import has_control
from recsys_tui.core.home import Home
from recsys_tui.data.cache import cache_dir, load_cache
from recsys_tui.data.fields import MAX_FIELD_CHARS, MAX_TITLE_CHARS, clean_dataset, describe
from recsys_tui.data.movielens import Dataset, Interactions, Movie, UserInfo
from recsys_tui.faults.scenarios_hostile import HOSTILE, tamper_cache, write_hostile_source
from recsys_tui.faults.wire import wire_problem

from recsys_tui.cli import main


def tiny(titles: list[str], occupation: str = "writer") -> Dataset:
    inter = Interactions.from_arrays([1], [1], [5.0], [0])
    movies = {n + 1: Movie(n + 1, t, 1999, ("Drama", "\x1b[2JNoir", "x" * 60)) for n, t in enumerate(titles)}
    return Dataset(inter, movies, {1: UserInfo(1, 30, "M", occupation, "12345")})


def test_clean_dataset_replaces_controls_bounds_lengths_and_counts():
    titles = ["Plain", "\x1b]52;c;eA==\x07Clip", "[/] kept", "x" * 1000, "\u202eevil"]
    cleaned, counts = clean_dataset(tiny(titles, occupation="\x1b[2J" + "o" * 100))
    out = [cleaned.movies[i].title for i in sorted(cleaned.movies)]
    assert out[0] == "Plain" and out[2] == "[/] kept"  # markup-like text is data, kept as typed
    assert out[1] == "␛]52;c;eA==␇Clip" and out[4] == "\ufffdevil"
    assert len(out[3]) == MAX_TITLE_CHARS and out[3].endswith("…")
    assert not any(has_control(t) for t in out)
    assert all(m.genres == ("Drama",) for m in cleaned.movies.values())
    user = cleaned.users[1]
    assert len(user.occupation) == MAX_FIELD_CHARS and user.occupation.startswith("␛[2J")
    assert counts == {"titles": 3, "genres": 5, "users": 1}
    assert describe(counts) == "cleaned 3 titles, 5 genres, 1 user"
    assert describe({"titles": 0}) == "nothing to clean"


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory, trained_home_template):
    """A trained home whose data set came from a source with hostile titles and occupations."""
    root = tmp_path_factory.mktemp("hostile")
    source = write_hostile_source(trained_home_template / "data", root / "source")
    home = root / "home"
    shutil.copytree(trained_home_template, home)
    assert main(["--home", str(home), "data", "fetch", "--source", str(source), "--force"]) == 0
    return Home(home)


def run(capsys, home: Home, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_fetch_of_a_hostile_source_cleans_and_says_so(hostile_home, capsys):
    dataset = load_cache(hostile_home.data)
    titles = [m.title for m in dataset.movies.values()]
    assert not any(has_control(t) for t in titles)
    assert sum("[link=file:///etc/passwd]" in t for t in titles) > 50
    with_controls = sum(any(has_control(ch) for ch in p) for p in HOSTILE)
    assert dataset.info["cleaned"]["titles"] >= with_controls * 1682 // len(HOSTILE) - 10
    rc, out, _ = run(capsys, hostile_home, "data", "info")
    assert rc == 0 and f"cleaned {dataset.info['cleaned']['titles']} titles" in out
    assert wire_problem(out.encode()) is None


@pytest.mark.parametrize("args", [
    ["recommend", "-u", "1"], ["recommend", "-u", "1", "-f", "csv", "-k", "40"],
    ["recommend", "-u", "1", "-f", "json"], ["similar", "-i", "1"], ["similar", "-i", "3", "-f", "csv"],
    ["history", "-u", "1"], ["status"], ["models", "list"],
])
def test_read_commands_show_hostile_titles_as_text(hostile_home, capsys, args):
    rc, out, err = run(capsys, hostile_home, *args)
    assert rc == 0, err
    assert wire_problem(out.encode()) is None and wire_problem(err.encode()) is None
    if "csv" in args:
        cells = [c for line in out.splitlines()[1:] for c in line.split(",")]
        assert not [c for c in cells if c.startswith(("=", "+", "@")) and not c.lstrip("+-").isdigit()]


def test_recommend_shows_markup_literally(hostile_home, capsys):
    rc, out, _ = run(capsys, hostile_home, "recommend", "-u", "1", "-k", "40")
    assert rc == 0
    assert any(tag in out for tag in ("[/]", "[link=file:///etc/passwd]", "[@click=", "[bold red]", "[$x]"))


def test_rate_on_hostile_titles_is_logged_once_and_never_crashes(hostile_home, capsys, tmp_path):
    home = Home(tmp_path / "h")
    shutil.copytree(hostile_home.root, home.root)
    for args in (["rate", "-u", "1", "-i", "301", "-r", "4"], ["rate", "-u", "1", "-i", "302", "-r", "5",
                                                              "-f", "json"],
                 ["click", "-u", "1", "-i", "303"], ["undo", "-u", "1"]):
        rc, out, err = run(capsys, home, *args)
        assert rc == 0 and "Traceback" not in err
        assert wire_problem(out.encode()) is None and wire_problem(err.encode()) is None
    with closing(sqlite3.connect(home.event_log)) as db:  # independent of the engine: read the log
        rows = db.execute("SELECT user_id, item_id, kind, undoes IS NOT NULL FROM events "
                          "ORDER BY id").fetchall()
    assert rows == [(1, 301, "rating", 0), (1, 302, "rating", 0), (1, 303, "click", 0), (1, 303, "undo", 1)]


def test_a_hand_edited_cache_is_cleaned_on_load_and_reported(hostile_home, capsys, tmp_path):
    home = Home(tmp_path / "h")
    shutil.copytree(hostile_home.root, home.root)
    tamper_cache(home.data)
    raw = json.loads((cache_dir(home.data) / "movies.json").read_text())
    assert has_control(raw[0]["title"])  # the attack is really on disk
    rc, out, err = run(capsys, home, "recommend", "-u", "1")
    assert rc == 0 and wire_problem(out.encode()) is None, err
    rc, out, _ = run(capsys, home, "data", "info")
    assert rc == 0 and "edited since" in out and "1682 titles" in out


def test_rate_whose_output_fails_says_it_was_recorded(home, capsys, monkeypatch):
    from recsys_tui.commands import online

    def broken(_result, _fmt):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(online, "print_event", broken)
    rc, _out, err = run(capsys, home, "rate", "-u", "2", "-i", "33", "-r", "4")
    assert rc == 1 and err.count("\n") == 1 and "was recorded (do not repeat it)" in err
    with closing(sqlite3.connect(home.event_log)) as db:
        assert db.execute("SELECT user_id, item_id, rating FROM events").fetchall() == [(2, 33, 4.0)]

"""``recsys-tui demo``: the script parser, and the shipped example run headless through the real app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys_tui.cli import main
from recsys_tui.demo_script import Action, DemoScriptError, parse_script
from tests.events import logged

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo.script"


def run(capsys, home, *args: str) -> tuple[int, str, str]:
    rc = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


# -- the script language -----------------------------------------------------------------------

def test_parse_script_reads_every_verb_and_skips_comments():
    actions = parse_script(
        "# a comment\n\nlogin 1\nlogin NEW  # trailing comment\nsearch star wars # not a comment\n"
        "select 50\nrate 5\nrate-top 3\nrate-top 2 1\nexpect-reason because you rated\n"
        "genre Comedy\nscreenshot out.svg\nexpect-changed\n")
    assert actions == [
        Action(3, "login", (1,)), Action(4, "login", ("new",)),
        Action(5, "search", ("star wars # not a comment",)), Action(6, "select", (50,)),
        Action(7, "rate", (5,)), Action(8, "rate-top", (3, 4)), Action(9, "rate-top", (2, 1)),
        Action(10, "expect-reason", ("because you rated",)), Action(11, "genre", ("Comedy",)),
        Action(12, "screenshot", ("out.svg",)), Action(13, "expect-changed"),
    ]
    assert str(actions[4]) == "rate 5" and str(actions[6]) == "rate-top 2 1"


@pytest.mark.parametrize(("text", "message"), [
    ("login 1\nrate 6\n", "line 2: rate needs a whole star value (1–5), got 6"),
    ("rate 4.5", "line 1: rate needs a whole star value, got '4.5'"),
    ("login", "line 1: login needs one user id or 'new'"),
    ("login -3", "line 1: login needs a user id (1–"),
    ("fly 3", "line 1: unknown action 'fly'"),
    ("click now", "line 1: click takes no argument"),
    ("screenshot", "line 1: screenshot needs an argument"),
    ("rate-top 0", "line 1: rate-top needs a count (1–"),
    ("# only comments\n\n", "no actions"),
])
def test_parse_script_refuses_bad_lines_with_the_line_number(text, message):
    with pytest.raises(DemoScriptError) as err:
        parse_script(text)
    assert message in str(err.value)


# -- the example script through the real app ---------------------------------------------------

def test_example_script_runs_headless_and_passes_its_expectations(capsys, home, tmp_path):
    svg, report = tmp_path / "shots" / "final.svg", tmp_path / "demo.json"
    rc, out, err = run(capsys, home, "demo", "--script", str(EXAMPLE), "--size", "80x24",
                       "--screenshot", str(svg), "--json", str(report))
    assert rc == 0, err
    actions = parse_script(EXAMPLE.read_text())
    assert out.count("▶ ") == len(actions)
    expects = [a for a in actions if a.verb.startswith("expect-")]
    assert out.count("✓ ") == len(expects) and "✗" not in out
    assert "before: #" in out and "dropped out:" in out and "keypress → pane" in out
    assert "logged in as user 944" in out  # the new user of the script
    stats = json.loads(report.read_text())
    interactions = sum(1 for a in actions if a.verb in ("rate", "click", "undo"))
    interactions += sum(a.args[0] for a in actions if a.verb == "rate-top")
    assert stats["interactions"] == interactions and stats["expect_failures"] == []
    assert 0 < stats["keypress_to_pane_ms"]["p50"] <= stats["keypress_to_pane_ms"]["p99"]
    assert 0 < stats["engine_ms"]["p50"] <= stats["engine_ms"]["p99"]
    assert svg.read_text().lstrip().startswith("<svg") and "Recommendations" in svg.read_text()
    assert "throw-away copy" in out
    assert logged(home) == 0, "the demo ran on a throw-away copy: the home is unchanged"
    rc, out, err = run(capsys, home, "demo", "--script", str(EXAMPLE), "--size", "80x24")
    assert rc == 0, err  # again on the same home: passes again


def test_demo_in_place_keeps_its_events_and_help_screenshot_shows_help(capsys, home, tmp_path):
    script = tmp_path / "s.script"
    script.write_text("login 1\nsearch star wars\nselect 50\nsimilar\nrate 2\nhelp\n")
    svg = tmp_path / "help.svg"
    rc, out, err = run(capsys, home, "demo", "--script", str(script), "--in-place", "--screenshot", str(svg))
    assert rc == 0, err
    assert "throw-away" not in out and logged(home) == 1
    text = svg.read_text()
    assert "recsys-tui" in text and "help" in text and "Everywhere" in text  # the help screen
    # similar then rate: the most similar movie (highlighted after F3) was rated, not the source
    rated = [line for line in out.splitlines() if "rated ★2" in line]
    assert rated and "#50" not in rated[0]


def test_failed_expectation_exits_1_and_names_the_line(capsys, home, tmp_path):
    script = tmp_path / "fail.script"
    script.write_text("login 1\nexpect-cold\nexpect-personal\n")
    rc, out, err = run(capsys, home, "demo", "--script", str(script))
    assert rc == 1
    assert "✗ FAILED: the list is personal" in out and "✓ the list is personal" in out
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "1 expectation(s) failed: line 2: expect-cold" in lines[0]


@pytest.mark.parametrize(("script", "args", "message"), [
    ("login 1\nrate 9\n", (), "line 2: rate needs a whole star value (1–5), got 9"),
    ("rate 3\n", (), "line 1 (rate 3): log in first"),
    ("login 5000\n", (), "line 1 (login 5000): unknown user 5000"),
    ("login 1\nselect 99999\n", (), "line 2 (select 99999): unknown item 99999"),
    ("login 1\ngenre westerns\n", (), "unknown genre 'westerns'"),
    ("login 1\n", ("--size", "10x4"), "--size 10x4 is outside"),
    ("login 1\n", ("--size", "big"), "--size must look like 120x40"),
    ("login 1\n", ("--screenshot", "out.png"), "should end in .svg"),
])
def test_bad_scripts_and_flags_get_one_line_errors(capsys, home, tmp_path, script, args, message):
    path = tmp_path / "bad.script"
    path.write_text(script)
    rc, _, err = run(capsys, home, "demo", "--script", str(path), *args)
    assert rc == (2 if args else 1)  # a flag value that cannot be used is a usage error
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_missing_and_binary_scripts_are_refused(capsys, home, tmp_path):
    rc, _, err = run(capsys, home, "demo", "--script", str(tmp_path / "nope.script"))
    assert rc == 1 and "cannot read script" in err
    binary = tmp_path / "bin.script"
    binary.write_bytes(b"\xff\xfe\x00login 1")
    rc, _, err = run(capsys, home, "demo", "--script", str(binary))
    assert rc == 1 and "not a UTF-8 text file" in err

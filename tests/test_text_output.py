"""Text is data in every CLI renderer: arbitrary Unicode (hypothesis) and known attack strings go
through tables, CSV, JSON, transcript lines, notices and error lines with no exception and no
control byte on the wire (issue 12, part 1)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recsys_tui.common.text import csv_cell
from recsys_tui.core.results import EventResult, RankChange, RecList, Recommendation, Timings
from recsys_tui.faults.scenarios_hostile import HOSTILE
from recsys_tui.faults.wire import wire_problem

from recsys_tui.cli import _one_line
from recsys_tui.commands import online
from recsys_tui.console import SafeConsole, json_text, note, styled
from recsys_tui.context import STATE
from recsys_tui.demo_transcript import Transcript
from recsys_tui.output import emit

# every code point, lone surrogates included, mixed with the known attack strings
ANY_CHAR = st.characters(exclude_categories=())
UNTRUSTED = st.one_of(st.text(ANY_CHAR, max_size=40),
                      st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(ANY_CHAR, max_size=8)),
                               max_size=4).map("".join))
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def consoles() -> list[tuple[SafeConsole, io.StringIO, bool]]:
    """A pipe console and a colour-terminal console (whose own SGR sequences are allowed)."""
    out = []
    for terminal in (False, True):
        buf = io.StringIO()
        out.append((SafeConsole(file=buf, width=100, force_terminal=terminal, color_system=(
            "truecolor" if terminal else None)), buf, terminal))
    return out


def assert_clean_wire(text: str, styled_ok: bool = False) -> None:
    data = text.encode("utf-8")  # a lone surrogate left in would fail here
    problem = wire_problem(data, styled=styled_ok)
    assert problem is None, problem


def rec_list(title: str, reason: str) -> RecList:
    items = [Recommendation(1, 7, title, 0.5, reason), Recommendation(2, 8, reason, -0.25, title)]
    return RecList(1, items, True, "v0001-20261201T000000", Timings({"solve": 0.1}, 0.2))


@PROPERTY
@given(title=UNTRUSTED, reason=UNTRUSTED, header=UNTRUSTED)
def test_emit_table_csv_json_never_leak_a_control_byte(title, reason, header):
    rows = [(1, 7, title, 0.5, reason), (2, 8, reason, None, title)]
    columns = ["rank", "item_id", "title", "score", header or "reason"]
    for fmt in ("table", "csv", "json"):
        for console, buf, terminal in consoles():
            emit(console, columns, rows, fmt, title=title)
            assert_clean_wire(buf.getvalue(), styled_ok=terminal)
    buf = io.StringIO()
    emit(SafeConsole(file=buf), columns, rows, "json")
    assert json.loads(buf.getvalue()) == [dict(zip(columns, r, strict=True)) for r in rows]


@PROPERTY
@given(value=UNTRUSTED)
def test_csv_cells_never_start_a_formula_and_stay_one_field(value):
    buf = io.StringIO()
    emit(SafeConsole(file=buf), ["title", "n"], [(value, 3)], "csv")
    header, row = list(csv.reader(io.StringIO(buf.getvalue())))
    assert header == ["title", "n"] and len(row) == 2 and row[1] == "3"
    assert not row[0].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert row[0] == csv_cell(value)


@PROPERTY
@given(obj=st.recursive(st.one_of(UNTRUSTED, st.integers(), st.floats(allow_nan=False), st.none()),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(UNTRUSTED, inner, max_size=3)),
                        max_leaves=8))
def test_json_text_escapes_controls_and_round_trips(obj):
    text = json_text(obj)
    assert_clean_wire(text)
    assert json.loads(text) == obj


@PROPERTY
@given(title=UNTRUSTED, reason=UNTRUSTED, degraded=UNTRUSTED)
def test_event_output_in_every_format(title, reason, degraded):
    result = EventResult(9, 1, 7, "rating", 5.0, rec_list(title, reason), rec_list(reason, title),
                         Timings({"log": 0.1}, 0.3), degraded or None,
                         [RankChange(7, title, 3, None), RankChange(8, reason, None, 1)])
    for fmt in ("table", "csv", "json"):
        for console, buf, terminal in consoles():
            err = io.StringIO()
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(STATE, "console", console)
                mp.setattr(STATE, "err", SafeConsole(file=err, force_terminal=terminal))
                online.print_event(result, fmt)
            assert_clean_wire(buf.getvalue(), styled_ok=terminal)
            assert_clean_wire(err.getvalue(), styled_ok=terminal)


@PROPERTY
@given(title=UNTRUSTED, reason=UNTRUSTED, line=UNTRUSTED)
def test_demo_transcript_lines(title, reason, line):
    for console, buf, terminal in consoles():
        out = Transcript(console)
        out.say(line)
        out.say(line, style="bold red")
        out.recs(rec_list(title, reason), "after", {7: "▲2"})
        result = EventResult(3, 1, 7, "click", None, rec_list(title, reason), rec_list(reason, title),
                             Timings({"log": 0.1}, 0.3), line or None, [RankChange(7, title, 3, None)])
        out.event(result, 12.5)
        assert_clean_wire(buf.getvalue(), styled_ok=terminal)


@PROPERTY
@given(text=UNTRUSTED)
def test_notices_status_lines_and_error_lines(text):
    for console, buf, terminal in consoles():
        console.print(note(text))
        console.print(styled(text, "red"))
        console.print(text)  # a bare string: shown, never parsed as markup
        console.print_json(data={"x": text})
        assert_clean_wire(buf.getvalue(), styled_ok=terminal)
    line = _one_line(text)
    assert "\n" not in line
    assert_clean_wire(line)


@pytest.mark.parametrize("payload", HOSTILE)
def test_markup_is_shown_as_typed_not_obeyed(payload):
    buf = io.StringIO()
    console = SafeConsole(file=buf, width=200)
    console.print(payload)
    emit(console, ["title"], [(payload,)], "table", title=payload)
    shown = buf.getvalue()
    if payload.startswith("[link="):
        assert "[link=file:///etc/passwd]click me[/link]" in shown  # the tags stay visible text
    if ":smile:" in payload:
        assert ":smile:" in shown and "😄" not in shown  # no emoji substitution either
    assert_clean_wire(shown)


def test_error_line_of_the_cli_is_clean(capsys, tmp_path):
    from recsys_tui.cli import main

    rc = main(["--home", str(tmp_path / "h"), "rate", "-u", "1", "-i", "1", "-r", "\x1b]52;c;eA==\x07[/]"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert wire_problem(err.encode()) is None and "[/]" in err


def test_error_lines_show_control_characters_as_placeholders(capsys, tmp_path):
    from recsys_tui.cli import main

    missing = tmp_path / "no\x1b[2Jsuch\u202e.script"
    rc = main(["--home", str(tmp_path / "h"), "demo", "--script", str(missing)])
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and wire_problem(err.encode()) is None
    assert "␛[2J" in err or "\\x1b" in err

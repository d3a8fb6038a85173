"""Property-based tests (hypothesis): every parser and entry point either accepts its input or refuses
it with a clean, expected error — never another exception, never a traceback."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recsys_tui.common.errors import RecsysError
from recsys_tui.core.engine import Engine
from recsys_tui.data import parsers
from recsys_tui.data.movielens import GENRES
from recsys_tui.faults.verify import KEY_SCHEMA

COMMON = settings(max_examples=150, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Text that looks like data files: digits, separators, signs, exponents, odd Unicode digits.
FIELD_CHARS = "0123456789 \t,|:.-+eE%'\"\\\x00\x85\u2028²٣\ufeffaé"
field_text = st.text(alphabet=FIELD_CHARS, max_size=24)
file_text = st.lists(st.one_of(field_text, st.text(max_size=40),
                               st.lists(field_text, max_size=25).map("\t".join),
                               st.lists(field_text, max_size=25).map("|".join),
                               st.lists(field_text, max_size=6).map(",".join)),
                     max_size=8).map("\n".join)
HEADERS = ["", "user_id,item_id,rating,timestamp\n", "user_id:token\titem_id:token\trating:float\t"
           "timestamp:float\n"]


# -- scalar parsers ----------------------------------------------------------------------------

@COMMON
@given(st.one_of(st.text(max_size=30), field_text))
def test_parse_id_returns_a_valid_id_or_value_error(text):
    try:
        value = parsers.parse_id(text)
    except ValueError:
        return
    assert isinstance(value, int) and 1 <= value <= parsers.MAX_ID


@COMMON
@given(st.integers(1, parsers.MAX_ID), st.sampled_from(["", " ", "\t", "\n"]))
def test_parse_id_round_trips(n, pad):
    assert parsers.parse_id(f"{pad}{n}{pad}") == n


@COMMON
@given(st.one_of(st.text(max_size=30), field_text,
                 st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_parse_rating_is_finite_in_range_or_value_error(text):
    try:
        value = parsers.parse_rating(text)
    except ValueError:
        return
    assert math.isfinite(value) and 0.5 <= value <= 5


@COMMON
@given(st.one_of(st.text(max_size=30), field_text, st.integers().map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_parse_timestamp_is_a_non_negative_int_or_value_error(text):
    try:
        value = parsers.parse_timestamp(text)
    except ValueError:
        return
    assert isinstance(value, int) and 0 <= value < 2**62


# -- file parsers -------------------------------------------------------------------------------

FILE_PARSERS = [parsers.parse_udata, parsers.parse_interactions_text, parsers.parse_recbole_inter,
                parsers.parse_uitem, parsers.parse_recbole_item, parsers.parse_uuser,
                parsers.parse_recbole_user]


@pytest.mark.parametrize("parse", FILE_PARSERS, ids=lambda f: f.__name__)
@COMMON
@given(st.sampled_from(HEADERS), file_text)
def test_file_parsers_accept_or_raise_data_error(parse, header, text):
    try:
        result = parse(header + text, "fuzz.txt")
    except RecsysError as exc:
        assert "\n" not in str(exc)
        return
    assert len(result) > 0


rating_rows = st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**6),
                                 st.sampled_from([1, 2, 3, 4, 5, 0.5, 3.5]), st.integers(0, 2**40)),
                       min_size=1, max_size=30)


@COMMON
@given(rating_rows, st.sampled_from(["\t", ",", " "]), st.booleans())
def test_valid_interaction_files_round_trip(rows, sep, header):
    text = ("user_id,item_id,rating,timestamp\n".replace(",", sep) if header else "")
    text += "\n".join(sep.join(str(v) for v in row) for row in rows) + "\n"
    inter = parsers.parse_interactions_text(text)
    assert inter.user_ids.tolist() == [r[0] for r in rows]
    assert inter.item_ids.tolist() == [r[1] for r in rows]
    assert inter.ratings.tolist() == [float(r[2]) for r in rows]
    assert inter.timestamps.tolist() == [r[3] for r in rows]


@COMMON
@given(st.integers(1, 5000), st.text(st.characters(blacklist_characters="|\n\r\x85\u2028\u2029\x1c\x1d\x1e"
                                                   "\x0b\x0c"), max_size=40),
       st.lists(st.booleans(), min_size=len(GENRES), max_size=len(GENRES)))
def test_valid_uitem_rows_round_trip(item_id, title, flags):
    row = f"{item_id}|{title} (1995)|01-Jan-1995||http://x|" + "|".join(str(int(f)) for f in flags)
    movies = parsers.parse_uitem(row)
    assert list(movies) == [item_id]
    assert movies[item_id].genres == tuple(g for g, f in zip(GENRES, flags, strict=True) if f)


# -- event payloads ---------------------------------------------------------------------------

anything = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(1, 1700),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                     st.binary(max_size=4), st.lists(st.integers(), max_size=2))


@pytest.fixture
def engine(home):
    e = Engine.open(home)
    yield e
    e.close()


@COMMON
@given(user=st.one_of(st.integers(1, 943), anything), item=st.one_of(st.integers(1, 1682), anything),
       kind=st.one_of(st.sampled_from(["rating", "click", "view", "undo"]), st.text(max_size=8)),
       rating=st.one_of(st.integers(1, 5), anything), k=st.one_of(st.integers(-5, 2000), anything),
       ts=st.one_of(st.none(), anything))
def test_record_accepts_or_refuses_cleanly(engine, user, item, kind, rating, k, ts):
    before = engine.log.count()
    try:
        result = engine.record(user, item, kind, rating, ts=ts, k=k, with_before=False)
    except RecsysError as exc:
        assert "\n" not in str(exc)
        assert engine.log.count() == before  # a refused event leaves no trace
        return
    assert engine.log.count() == before + 1
    assert result.event_id == engine.log.max_id()
    assert 1 <= len(result.after.items) <= k


@FEW
@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=12)), st.one_of(st.none(), anything))
def test_search_never_crashes_and_keys_stay_in_schema(engine, text, genre, user):
    try:
        rows = engine.search(text, genre=genre, user_id=user)
    except RecsysError:
        return
    assert all(row.item_id > 0 for row in rows)
    assert all(KEY_SCHEMA.match(k) for k in engine.store.all_keys())


# -- the command line ---------------------------------------------------------------------------

def run_main(argv: list[str]) -> tuple[int, str, str]:
    from recsys_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


ARG_VALUES = st.one_of(st.integers(-3, 2000).map(str),
                       st.sampled_from(["0", "1", "5", "943", "1682", "2" * 30, "-1", "nan", "1e3", "", "--",
                                        "-h"]),
                       st.text(alphabet=FIELD_CHARS + "abc-=", max_size=10))
COMMANDS = {
    "rate": ["-u", "-i", "-r", "-k", "-f"], "click": ["-u", "-i", "--kind", "-k", "-f"],
    "recommend": ["--user", "-k", "-f", "--all-users"], "similar": ["-i", "-k", "-f"],
    "history": ["-u", "-f"], "undo": ["-u", "-k"], "status": [], "new-user": [],
    "data": ["info", "--bogus"],
}


@FEW
@given(st.sampled_from(sorted(COMMANDS)), st.data())
def test_cli_arguments_exit_cleanly(home, command, data):
    options = COMMANDS[command]
    argv = ["--home", str(home.root), command]
    for _ in range(data.draw(st.integers(0, 4))):
        if options:
            argv.append(data.draw(st.sampled_from(options)))
        argv.append(data.draw(ARG_VALUES))
    rc, _, stderr = run_main(argv)
    assert isinstance(rc, int)
    assert "Traceback" not in stderr
    if rc != 0:
        lines = [x for x in stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("recsys-tui"), (argv, stderr)


# -- demo scripts ------------------------------------------------------------------------------

@FEW
@given(file_text)
def test_demo_script_parser_refuses_cleanly(text):
    from recsys_tui.demo_script import parse_script

    try:
        parse_script(text)
    except RecsysError:
        return

"""The fault suite's store scenarios (issue 12 §2, issue 16): a misbehaving Redis, shared stores,
racing undos and a killed store, on SQLite + redis-server and on PostgreSQL + Redis Cluster.

Each test runs one scenario and asserts every fault it injected survived, then takes a second
opinion of its own (tests/independent.py: sqlite3 on the log, a separate Redis client). The
suite's own independent reader is tested first: it must catch a double count, a lost event and a
twice-undone event, or the scenarios' verdicts would mean nothing.
"""

from __future__ import annotations

import pytest
import redis
from recsys_tui.core.engine import Engine
from recsys_tui.core.home import Home
from recsys_tui.faults.backends import Distributed, Embedded
from recsys_tui.faults.independent import log_problems, log_rows, store_problems
from recsys_tui.faults.outcome import Outcome
from recsys_tui.faults.scenarios_misbehaving import scenario_evicting_redis, scenario_slow_redis
from recsys_tui.faults.scenarios_shared import (
    scenario_log_killed,
    scenario_shared_store,
    scenario_store_killed,
    scenario_undo_race,
)
from recsys_tui.faults.verify import seed_counts
from recsys_tui.faults.workload import copy_home, one_clean_line, run_cli

from tests.independent import assert_ids_contiguous, live_counts
from tests.pg_server import PostgresServer

pytestmark = [pytest.mark.redis, pytest.mark.faults]


def assert_survived(outcome: Outcome) -> None:
    assert outcome.injected > 0
    assert not outcome.failures, "\n".join(outcome.failures)
    assert outcome.crashes == 0 and outcome.events_written == outcome.events_found > 0


def test_the_independent_reader_catches_double_counts_lost_events_and_double_undos(home, redis_server):
    engine = Engine.open(home, redis_server.url)
    for item in (50, 51, 52):
        engine.record(3, item, "rating", 4, with_before=False)
    engine.undo_last(3)
    seed = seed_counts(engine)
    engine.close()
    rows = log_rows(home.event_log)
    assert [r[3] for r in rows] == ["rating", "rating", "rating", "undo"]
    assert store_problems(redis_server.url, rows, seed) == []
    assert log_problems(rows, contiguous=True) == []
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.hincrby("rs:v1:{u:3}:meta", "n_rating", 1)  # a double-counted event
        assert any("user 3" in p for p in store_problems(redis_server.url, rows, seed))
        client.hincrby("rs:v1:{u:3}:meta", "n_rating", -1)
        client.zincrby("rs:v1:{g}:pop", 1, "51")  # popularity counted twice
        assert any("popularity" in p for p in store_problems(redis_server.url, rows, seed))
        client.zincrby("rs:v1:{g}:pop", -1, "51")
        assert store_problems(redis_server.url, rows, seed) == []
    finally:
        client.close()
    assert any("watermark" in p for p in store_problems(redis_server.url, [*rows, (5, 3, 53, "view", None,
                                                                                  None)], seed))
    twice = [*rows, (5, 3, 52, "undo", None, 3)]  # event 3 cancelled a second time
    assert any("more than once" in p for p in log_problems(twice, contiguous=True))
    assert any("contiguous" in p for p in log_problems(rows[1:], contiguous=True))
    assert log_problems(rows[1:], contiguous=False) == []  # PostgreSQL may skip an id


def test_slow_and_lossy_redis(home, tmp_path):
    outcome = scenario_slow_redis(home, tmp_path)
    assert_survived(outcome)
    assert outcome.injected >= 7
    assert_ids_contiguous(home.event_log)
    assert live_counts(home.event_log)[1]["rating"] == 7  # 5 + the trickled one + the lost reply


def test_evicting_and_full_redis(home, tmp_path):
    outcome = scenario_evicting_redis(home, tmp_path)
    assert_survived(outcome)
    assert live_counts(home.event_log)[4] == {"rating": 3, "click": 1, "view": 1}


def _run_store_scenarios(backends, template: Home, tmp_path) -> None:
    assert_survived(scenario_shared_store(backends, template, tmp_path / "shared"))
    undo_home = copy_home(template, tmp_path / "undo-home")
    outcome = scenario_undo_race(backends, undo_home, tmp_path / "undo", rounds=6)
    assert_survived(outcome)
    assert_survived(scenario_store_killed(backends, copy_home(template, tmp_path / "killed-home"),
                                          tmp_path / "killed", n=90))


def test_two_homes_on_one_store_and_racing_undos_and_a_killed_store(trained_home_template, tmp_path):
    template = Home(trained_home_template)
    _run_store_scenarios(Embedded(), template, tmp_path)
    undone = [r[5] for r in log_rows(tmp_path / "undo-home" / "events.sqlite3") if r[5] is not None]
    assert len(undone) == len(set(undone)) > 0  # sqlite3's own view: no event cancelled twice


def test_the_store_scenarios_on_postgresql_and_a_redis_cluster(trained_home_template, tmp_path,
                                                              pg_server, redis_cluster):
    """The session's PostgreSQL and Cluster stand in for the ones ``check`` starts itself."""
    _run_store_scenarios(Distributed(pg=pg_server, cluster=redis_cluster), Home(trained_home_template),
                         tmp_path)


def test_a_postgresql_crash_under_a_running_engine(trained_home_template, tmp_path, pg_server, redis_cluster):
    """A server of its own (this one is killed): refused while down, the same process logs again
    on a new connection afterwards, nothing acknowledged is lost and the store equals the log."""
    backends = Distributed(pg=PostgresServer().start(), cluster=redis_cluster)
    try:
        outcome = scenario_log_killed(backends, copy_home(Home(trained_home_template), tmp_path / "h"),
                                      tmp_path / "w", n=90)
    finally:
        backends.pg.stop()
    assert_survived(outcome)
    assert outcome.notes["refused while down"] >= 30


def test_check_backends_option_is_checked(home):
    rc, _, stderr = run_cli(["--home", str(home.root), "check", "--backends", "mongo"])
    assert rc == 2 and one_clean_line(stderr) is None and "backends" in stderr
    rc, _, stderr = run_cli(["--home", str(home.root), "check", "--backends", "postgres-cluster",
                             "--only", "corrupt"])
    assert rc == 2 and one_clean_line(stderr) is None and "runs only" in stderr

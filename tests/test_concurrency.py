"""Several processes and engines on one Redis and one home: nothing lost, nothing counted twice."""

from __future__ import annotations

import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.faults.scenarios_load import scenario_concurrency
from recsys_tui.faults.verify import store_matches_log

from tests.independent import assert_ids_contiguous, log_rows

pytestmark = [pytest.mark.redis, pytest.mark.faults]


def test_four_processes_rating_concurrently_lose_nothing_and_count_exactly(home, tmp_path, redis_server):
    outcome = scenario_concurrency(home, tmp_path, procs=4, n=300)
    assert not outcome.failures, "\n".join(outcome.failures)
    assert outcome.events_found == outcome.events_written == 1200
    assert 0 < outcome.notes["p50_ms"] <= outcome.notes["p99_ms"]
    # Second opinion with sqlite3: every acknowledged event logged once, ids without gaps.
    assert len(log_rows(home.event_log)) == 1200
    assert_ids_contiguous(home.event_log)
    print(f"4 × 300 events: p50 {outcome.notes['p50_ms']} ms, p99 {outcome.notes['p99_ms']} ms per event")


def test_two_engines_on_one_redis_see_each_others_popularity(home, redis_server):
    a = Engine.open(home, redis_server.url)
    b = Engine.open(home, redis_server.url)
    cold_a, cold_b = a.new_user(), b.new_user()
    top = b.popular_items(cold_b, 2)
    (first, n_first), (second, n_second) = top
    for user in range(1, int(n_first - n_second) + 3):  # lift the runner-up past the leader
        a.record(user, second, "view", with_before=False)
    assert b.popular_items(cold_b, 1)[0][0] == second
    assert b.store.popularity()[second] == n_second + int(n_first - n_second) + 2
    b.record(cold_b, first, "click", with_before=False)
    assert dict(a.popular_items(cold_a, 5))[first] == n_first + 1
    assert store_matches_log(a) == []
    a.close()
    b.close()


def test_catch_up_by_another_process_never_double_counts(home, redis_server):
    """A commits an event; B opens (its catch-up applies it) before A's own write lands."""
    a = Engine.open(home, redis_server.url)
    event = a.log.append(3, 50, "rating", 4.0)
    b = Engine.open(home, redis_server.url)  # catches up event from the log
    assert b.store.user(3).counts["rating"] == 1
    assert a.store.apply(event, None, a.version, None, a.log) == "already"
    assert a.store.user(3).counts["rating"] == 1
    assert store_matches_log(a) == []
    a.close()
    b.close()


def test_out_of_order_writes_for_one_user_apply_each_event_once(home, redis_server):
    a = Engine.open(home, redis_server.url)
    first = a.log.append(5, 60, "rating", 5.0)
    second = a.log.append(5, 61, "click")
    assert a.store.apply(second, None, a.version, None, a.log) == "applied"  # brings `first` along
    assert a.store.apply(first, None, a.version, None, a.log) == "already"
    features = a.store.user(5)
    assert features.counts == {"rating": 1, "click": 1, "view": 0}
    assert [r[0] for r in features.recent] == [second.id, first.id]
    assert store_matches_log(a) == []
    a.close()

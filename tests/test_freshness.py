"""Features served from the store: process B answers with what process A just folded in."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import Event
from recsys_tui.core.feature_store import UserFeatures
from recsys_tui.core.freshness import embedding_tag, plan

pytestmark = pytest.mark.redis


class CountingLog:
    """Counts how often a real log is asked for a user's events (a spy around the real object)."""

    def __init__(self, log) -> None:
        self._log = log
        self.reads = 0

    def events(self, *args, **kwargs):
        self.reads += 1
        return self._log.events(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._log, name)


def _feats(recent, counts, last, emb=None, tag=None) -> UserFeatures:
    return UserFeatures(counts, last, recent, emb, tag)


def test_plan_overlays_only_when_the_recent_list_explains_the_gap():
    recent = [(12, 7, "rating", 5.0), (11, 6, "click", None), (3, 1, "rating", 4.0)]
    emb = np.ones(4, np.float32)
    got = plan(9, 3, 1, _feats(recent, {"rating": 2, "click": 1, "view": 0}, 12, emb,
                                embedding_tag("v1", 12)), "v1")
    assert not got.rebuild and [e.id for e in got.events] == [11, 12] and got.use_embedding
    assert all(isinstance(e, Event) and e.user_id == 9 for e in got.events)
    # an embedding for another version or another event is never served
    assert not plan(9, 3, 1, _feats(recent, {"rating": 2, "click": 1}, 12, emb, "v1@11"), "v1").use_embedding
    assert not plan(9, 3, 1, _feats(recent, {"rating": 2, "click": 1}, 12, emb, "v2@12"), "v1").use_embedding
    # an undo cancelled an event the view holds: the counts do not add up, re-read the log
    assert plan(9, 3, 1, _feats(recent[:2], {"rating": 1, "click": 1}, 12), "v1").rebuild
    # the newest event (an undo marker) is not in the list: re-read the log
    assert plan(9, 3, 1, _feats(recent, {"rating": 2, "click": 1}, 13), "v1").rebuild
    # nothing newer: keep the view
    assert plan(9, 12, 3, _feats(recent, {"rating": 2, "click": 1}, 12), "v1") == plan(9, 12, 3, _feats(
        [], {}, 0), "v1")


@pytest.fixture
def two_engines(home, redis_server):
    a = Engine.open(home, redis_server.url)
    b = Engine.open(home, redis_server.url)
    yield a, b
    a.close()
    b.close()


def test_b_serves_a_s_vector_from_the_store_without_re_reading_the_log(two_engines, home, redis_server):
    a, b = two_engines
    user = 7
    b.recommend(user)
    b.log = spy = CountingLog(b.log)
    assert not b.poll(user)
    a.record(user, 50, "rating", 5)
    a.record(user, 181, "click")
    assert b.poll(user)
    assert spy.reads == 0, "B must bring its view forward from the store, not the log"
    assert np.array_equal(b.embedding(user), a.embedding(user))
    fresh = Engine.open(home, redis_server.url)
    try:
        assert [r.item_id for r in b.recommend(user).items] == \
            [r.item_id for r in fresh.recommend(user).items]
        assert np.array_equal(b.embedding(user), fresh.embedding(user))
    finally:
        fresh.close()


def test_an_undo_elsewhere_makes_b_re_read_that_user(two_engines, home, redis_server):
    a, b = two_engines
    user = 9
    a.record(user, 50, "rating", 5)
    b.recommend(user)
    a.undo_last(user)
    a.record(user, 172, "rating", 4)
    assert b.poll(user)
    fresh = Engine.open(home, redis_server.url)
    try:
        assert b.profile(user).counts == fresh.profile(user).counts
        assert [r.item_id for r in b.recommend(user).items] == \
            [r.item_id for r in fresh.recommend(user).items]
        assert np.array_equal(b.embedding(user), fresh.embedding(user))
    finally:
        fresh.close()


def test_a_write_racing_another_process_folds_in_both(two_engines, home, redis_server):
    """B's event lands between A's freshness check and A's append: A's view must include it."""
    a, b = two_engines
    user = 11
    a.recommend(user)
    a._sync = lambda user_id, state: state  # B's write arrives right after A's check
    b.record(user, 50, "rating", 5)
    a.record(user, 100, "rating", 2)
    assert a._state(user).ratings[50] == 5.0 and a._state(user).ratings[100] == 2.0
    fresh = Engine.open(home, redis_server.url)
    try:
        assert np.array_equal(a.embedding(user), fresh.embedding(user))
        assert fresh.store.user(user).embedding_version == embedding_tag(fresh.version,
                                                                          a._state(user).last_event_id)
    finally:
        fresh.close()


def test_two_sessions_on_one_home_with_the_embedded_store_see_each_others_ratings(home):
    """Each process has its own embedded store, so the log tells one session what another did
    (two terminals, or two browser tabs of ``recsys-tui web``, on one home)."""
    a, b = Engine.open(home), Engine.open(home)
    try:
        user = 7
        before = b.recommend(user)
        assert b.poll(user) is False
        item = before.items[0].item_id
        a.record(user, item, "rating", 5)
        assert b.poll(user) is True  # B's view came forward from the log
        after = b.recommend(user)
        assert item not in after.item_ids  # B no longer recommends what A just rated
        assert b.movie(item, user).your_rating == 5
    finally:
        a.close()
        b.close()


def test_poll_against_the_shown_list_reports_other_sessions_not_its_own_events(two_engines):
    """A read that brings B's view forward (a search, a movie row) must not hide A's event from the
    list B shows; B's own newest event is not news (its list comes with the event's result)."""
    a, b = two_engines
    user = 11
    shown = b.recommend(user)
    a.record(user, 50, "rating", 5)
    b.movie(50, user)  # another read brings B's view forward first
    b.search("star", None, user, 5)
    assert b.poll(user) is False, "the engine's own view is already current"
    assert b.poll(user, shown.as_of) is True, "but the list B shows is not"
    mine = b.record(user, 181, "rating", 4)
    assert b.poll(user, shown.as_of) is False, "B's own event arrives with its own result"
    assert b.poll(user, mine.after.as_of) is False
    a.record(user, 7, "rating", 3)
    assert b.poll(user, mine.after.as_of) is True

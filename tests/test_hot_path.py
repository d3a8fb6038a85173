"""The hot path's shortcuts give the answers of the long way round (issue 14), and the engine
split keeps one object that closes everything it opened (issue 11 §3, issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
import redis
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.hot_path import REASON_SHOWN


def _terms_the_long_way(model, idx, values, recency, target: int) -> np.ndarray:
    """One target's exact per-rated-item terms, from scratch: its own solve, no cached system."""
    conf = model.weighting.row(idx, values, recency)
    y = model.item_factors[idx].astype(np.float64)
    a = model.gram + (y.T * (np.abs(conf) - 1.0)) @ y
    w = np.linalg.solve(a, model.item_factors[target].astype(np.float64))
    return (y @ w) * np.where(conf > 0, conf, 0.0)


def test_reasons_name_the_largest_exact_terms_computed_one_item_at_a_time(home):
    engine = Engine.open(home)
    try:
        engine.record(7, 50, "rating", 5)
        result = engine.record(7, 181, "click")
        idx, values = engine.user_arrays(7)
        recency = engine._state(7).recency
        for rec in result.after.items:
            terms = _terms_the_long_way(engine.model, idx, values, recency, engine._idx_of[rec.item_id])
            positive = np.where(terms > 0, terms, 0.0)
            order = [r for r in np.argsort(-positive, kind="stable")[:REASON_SHOWN] if positive[r] > 0]
            want = [(int(engine.items.ids[idx[r]]), positive[r] / positive.sum()) for r in order]
            got = [(c.item_id, c.share) for c in rec.because]
            assert [i for i, _ in got] == [i for i, _ in want], rec.item_id
            assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-9)
            if got:
                assert rec.reason.startswith("because you ")
    finally:
        engine.close()


def test_contributions_follow_the_history_given_not_the_last_fold_in(home):
    engine = Engine.open(home)
    try:
        model = engine.model
        idx, values = engine.user_arrays(13)
        targets = np.arange(10)
        model.fold_in(idx, values)
        changed = values.copy()
        changed[:5] = 1.0  # same length, same items, other ratings: the kept system must not be used
        fresh = type(model)(**model.params)
        fresh.load_arrays(model.arrays())
        assert np.array_equal(model.contributions(idx, changed, targets),
                              fresh.contributions(idx, changed, targets))
        values[:5] = 1.0  # the very array of the last fold-in, changed in place
        assert np.array_equal(model.fold_in(idx, values), fresh.fold_in(idx, changed))
    finally:
        engine.close()


def test_the_log_stamp_moves_for_other_connections_only(tmp_path):
    mine, other = EventLog(tmp_path / "events.sqlite3"), EventLog(tmp_path / "events.sqlite3")
    try:
        first = mine.stamp()
        mine.append(1, 10, "click")
        assert mine.stamp() == first  # our own commit: nothing to catch up on
        other.append(1, 11, "click")
        moved = mine.stamp()
        assert moved != first and mine.stamp() == moved
    finally:
        mine.close()
        other.close()


def test_an_embedded_engine_reads_the_log_only_after_someone_else_wrote_it(home, monkeypatch):
    """Two sessions on one home (each with its own embedded store): while nobody else commits,
    serving a user costs no log query; after another session's event it is seen at once."""
    a, b = Engine.open(home), Engine.open(home)
    try:
        before = [r.item_id for r in b.recommend(5).items]
        queries: list[int] = []
        real = b.log.last_event_id
        monkeypatch.setattr(b.log, "last_event_id", lambda user: queries.append(user) or real(user))
        for _ in range(3):
            b.recommend(5)
        assert queries == []
        top = before[0]
        a.record(5, top, "rating", 1)
        after = b.recommend(5)
        assert queries == [5] and top not in [r.item_id for r in after.items]
        assert b.history(5)[-1].item_id == top
    finally:
        a.close()
        b.close()


def _client_names(url: str) -> list[str]:
    probe = redis.Redis.from_url(url)
    try:
        return [c.get("name", "") for c in probe.client_list()]
    finally:
        probe.close()


@pytest.mark.redis
def test_close_releases_the_store_connections(home, redis_server):
    before = len(_client_names(redis_server.url))
    engine = Engine.open(home, redis_server.url)
    engine.record(3, 10, "rating", 4)
    assert len(_client_names(redis_server.url)) > before
    engine.close()
    assert len(_client_names(redis_server.url)) == before


@pytest.mark.slow
@pytest.mark.redis
def test_close_releases_a_cluster_clients_connections(home, redis_cluster):
    nodes = [f"redis://127.0.0.1:{port}/0" for port in redis_cluster.ports]
    redis_cluster.flush()
    before = sum(len(_client_names(url)) for url in nodes)
    engine = Engine.open(home, redis_cluster.url)
    engine.record(3, 10, "rating", 4)
    assert sum(len(_client_names(url)) for url in nodes) > before
    engine.close()
    assert sum(len(_client_names(url)) for url in nodes) == before


def test_short_and_long_history_paths_build_the_same_view(home):
    engine = Engine.open(home)
    try:
        for item in (1, 2, 3):
            engine.record(13, item, "click")
        engine.record(13, 4, "rating", 2)
        state = engine._state(13)
        values = dict.fromkeys(state.clicks, 3.0) | state.ratings
        engine._arrays_short(state, values)
        short = (state.idx.copy(), state.values.copy(), state.recency.copy())
        engine._arrays_long(state, values)
        assert all(np.array_equal(a, b) for a, b in zip(short, (state.idx, state.values, state.recency),
                                                         strict=True))
        assert sorted(state.recency[state.recency >= 0].tolist()) == [0, 1, 2, 3]
    finally:
        engine.close()


def test_an_engine_opened_to_defer_store_catches_the_store_up_before_using_it(home):
    """``defer_store`` (the app's login) leaves the store empty until ``finish_open`` or the first call
    that needs it; either way the store then holds what the log says, exactly once."""
    first = Engine.open(home)
    try:
        first.record(5, 50, "rating", 4)
        first.record(5, 51, "click")
    finally:
        first.close()
    engine = Engine.open(home, defer_store=True)
    try:
        assert not engine.store.is_seeded() and len(engine.users()) > 900  # no store needed
        result = engine.record(5, 52, "rating", 5, with_before=False)  # finishes the open first
        assert result.after.personal and not engine.degraded
        feats = engine.store.user(5)
        assert feats.counts == {"rating": 2, "click": 1, "view": 0}
        assert feats.last_event_id == result.event_id
        engine.finish_open()  # a second time: nothing more to do
        assert engine.store.user(5).counts == feats.counts
    finally:
        engine.close()
    later = Engine.open(home, defer_store=True)
    try:
        later.finish_open()
        assert later.store.is_seeded() and later.store.user(5).last_event_id == result.event_id
    finally:
        later.close()


def test_an_events_view_updated_in_place_is_the_view_rebuilt_from_the_history(home):
    """``record`` updates a folded view by the one event (an insertion or a new value, and the
    logged recencies) instead of rebuilding its arrays from the ratings dict: the arrays and the
    vector are those of the full rebuild after every kind of event — a new rating, a re-rating,
    a click on a rated and on an unrated film, a view, an item the model does not know — for a
    long history (user 13, 636 ratings) and a short one."""
    engine = Engine.open(home)
    try:
        unknown = [int(i) for i in engine.catalogue.item_ids if int(i) not in engine._idx_of][:1]
        rng = np.random.default_rng(5)
        for user in (13, 166):
            rated = sorted(engine._state(user).ratings)
            fresh = [int(i) for i in engine.items.ids if int(i) not in set(rated)]
            steps = [(fresh[0], "rating", 5), (rated[3], "rating", 1), (fresh[1], "click", None),
                     (rated[5], "click", None), (fresh[2], "view", None), (fresh[0], "rating", 2),
                     (fresh[1], "rating", 4), *[(u, "click", None) for u in unknown]]
            steps += [(int(rng.choice(fresh[:40])), "rating", int(rng.integers(1, 6))) for _ in range(12)]
            for item, kind, stars in steps:
                engine.record(user, item, kind, stars, with_before=False)
                state = engine._state(user)
                got = (state.idx.copy(), state.values.copy(), state.recency.copy(), state.vector.copy())
                assert state.seen_idx is state.idx
                engine._refold(state)  # the long way: every array from the dicts
                want = (state.idx, state.values, state.recency, state.vector)
                for a, b in zip(got, want, strict=True):
                    assert a.dtype == b.dtype and np.array_equal(a, b), (user, item, kind)
            assert len(engine._state(user).idx) >= len(rated) + 3
    finally:
        engine.close()

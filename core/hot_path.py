"""The event hot path: record, rate, undo, fold-in, feature write, search and re-rank with reasons.

One interaction (docs/ARCHITECTURE.md §2), each step timed with ``perf_counter_ns``: validate →
log (SQLite commit) → fold-in (exact ALS solve for the user) → features (one store round trip,
embedding included) → search (FAISS) → rerank (drop seen items, attach reasons). ``record``
returns everything an app shows after a keypress (new list, rank changes, and with ``with_view``
the profile and the movie row), so one keypress is one engine call.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from recsys_tui.core import cluster_pending, store_pending
from recsys_tui.core.cluster_pending import ClusterPending
from recsys_tui.core.engine_base import DEFAULT_K, EngineError
from recsys_tui.core.event_log import EVENT_KINDS, Event
from recsys_tui.core.feature_store import StoreError
from recsys_tui.core.freshness import embedding_tag
from recsys_tui.core.reasons import contributions, largest_shares
from recsys_tui.core.results import (
    Contributor,
    EventResult,
    MovieRow,
    Profile,
    RecList,
    Recommendation,
    Stopwatch,
    rank_changes,
)
from recsys_tui.core.store_pending import PendingWrite
from recsys_tui.core.threads import pinned
from recsys_tui.core.user_state import UserState
from recsys_tui.core.user_views import UserViews
from recsys_tui.models.base import top_k

REASON_NAMES = 2
"""How many contributors a reason names; the app's detail pane shows up to ``REASON_SHOWN``."""
REASON_SHOWN = 4


def check_rating(value: object, half_stars: bool = False) -> float:
    """A whole number of stars 1–5 (or, with ``half_stars``, 0.5–5 in halves), or ``EngineError``."""
    scale = "0.5–5 in half stars" if half_stars else "a whole number 1–5"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise EngineError(f"rating must be {scale}, got {value!r}")
    stars = float(value) if not isinstance(value, int) or -(2**53) < value < 2**53 else float("nan")
    steps = stars * 2 if half_stars else stars
    if not np.isfinite(stars) or steps != int(steps) or not (0.5 if half_stars else 1) <= stars <= 5:
        shown = repr(value) if not isinstance(value, int) or abs(value) < 2**53 else "a huge number"
        raise EngineError(f"rating must be {scale}, got {shown}")
    return float(stars)


def reason_text(because: tuple[Contributor, ...]) -> str:
    """``because you rated A ★5, B ★4`` (the largest terms first; viewed items say so)."""
    named = because[:REASON_NAMES]
    rated = [f"{c.title} ★{c.rating:g}" for c in named if c.rating]
    viewed = [c.title for c in named if not c.rating]
    parts = ([f"you rated {', '.join(rated)}"] if rated else []) + \
        ([f"you viewed {', '.join(viewed)}"] if viewed else [])
    return "because " + " and ".join(parts)


class HotPath(UserViews):
    """Recording events and ranking a user's list."""

    # -- ranking -------------------------------------------------------------------------------

    def _explain(self, state: UserState, cand: np.ndarray) -> list[tuple[Contributor, ...]]:
        """Each candidate's contributors (largest first): one matrix of exact terms, one sort."""
        contrib = contributions(self.model, state.idx, state.values, cand, state.recency)
        if contrib is None:
            return [() for _ in range(len(cand))]
        rows, shares = largest_shares(contrib, REASON_SHOWN)
        items = np.where(rows >= 0, self.items.ids[state.idx[np.maximum(rows, 0)]], -1)
        title, rating = self.catalogue.title, state.ratings.get
        return [tuple(Contributor(i, title(i), rating(i), s) for i, s in zip(ic, sc, strict=True) if i >= 0)
                for ic, sc in zip(items.T.tolist(), shares.T.tolist(), strict=True)]

    def _rank(self, user_id: int, state: UserState, k: int, sw: Stopwatch) -> RecList:
        if not state.personal:
            pairs = self._popular(state, k)
            sw.lap("search")
            recs = [Recommendation(n + 1, i, self.catalogue.title(i), s, f"popular now ({s:.0f} ratings)")
                    for n, (i, s) in enumerate(pairs)]
            sw.lap("rerank")
            return RecList(user_id, recs, False, self.version, sw.timings(), self._degraded,
                           self.trained.name, state.last_event_id)
        if self.is_embedding and self.index is not None:
            pool = self._pool(k)  # two-stage models re-rank a wider candidate set
            cand, scores = self.index.search_unseen(state.vector, pool, state.seen_idx)
            sw.lap("search")
            cand, scores = self.model.rerank(state.idx, state.values, cand, k, scores, state.recency)
        else:
            all_scores = self.model.score_history(state.idx, state.values, state.recency)
            cand = top_k(all_scores, k, exclude=state.seen_idx)
            scores = all_scores[cand]
            sw.lap("search")
        ids = self.items.ids[np.asarray(cand, np.int64)].tolist()
        recs = [Recommendation(n + 1, item, self.catalogue.title(item), s,
                               reason_text(because) if because else "similar to your ratings", because)
                for n, (item, s, because) in enumerate(zip(ids, np.asarray(scores, np.float64).tolist(),
                                                           self._explain(state, cand), strict=True))]
        if len(recs) < k:  # an approximate index can return too few unseen items
            have = {r.item_id for r in recs}
            for i, s in self._popular(state, k):
                if len(recs) == k:
                    break
                if i not in have:
                    recs.append(Recommendation(len(recs) + 1, i, self.catalogue.title(i), s, "popular now"))
        sw.lap("rerank")
        return RecList(user_id, recs, True, self.version, sw.timings(), self._degraded, self.trained.name,
                       state.last_event_id)

    @pinned
    def recommend(self, user_id: int, k: int = DEFAULT_K) -> RecList:
        """The user's top-``k``: personal once they have a positive signal, else popular now."""
        sw = Stopwatch()
        with self._lock:
            user_id = self._check_user(user_id)
            k = self._check_k(k)
            self._store_ready()
            sw.lap("validate")
            state = self._state(user_id)  # a user's first view reads the history and folds it in
            sw.lap("foldin")
            result = self._rank(user_id, state, k, sw)
            state.last = result
            return result

    # -- recording -----------------------------------------------------------------------------

    def _check_event(self, kind: str, rating: float | None, ts: int | None) -> float | None:
        if kind not in EVENT_KINDS:
            raise EngineError(f"event kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
        if kind == "rating":
            rating = check_rating(rating, self.half_stars)
        elif rating is not None:
            raise EngineError(f"a {kind} carries no rating")
        if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | np.integer)
                               or not 0 <= ts < 2**62):
            raise EngineError("ts must be seconds since the epoch, a non-negative integer")
        return rating

    @pinned
    def record(self, user_id: int, item_id: int, kind: str = "rating", rating: float | None = None,
               ts: int | None = None, k: int = DEFAULT_K, with_before: bool = True,
               with_view: bool = False) -> EventResult:
        """Log one interaction, update features and the user's vector, return the new top-k.

        ``with_view``: also return the user's profile and the item's row (outside the timings), so
        an app refreshes every pane from this one call.
        """
        sw = Stopwatch()
        with self._lock:
            user_id = self._check_user(user_id)
            item_id = self._check_item(item_id)
            k = self._check_k(k)
            rating = self._check_event(kind, rating, ts)
            sw.lap("validate")
            # The store is read for freshness only when a "before" list is wanted: after the append
            # the log's prev_id says whether another process wrote this user (then: refresh). A
            # view built just for this event is folded once, after the event is overlaid.
            state = self._state(user_id, sync=with_before, fold=with_before)
            before = None
            if with_before:
                before = state.last if state.last and len(state.last.items) == k \
                    else self._rank(user_id, state, k, Stopwatch())
                sw.skip()
            event = self.log.append(user_id, item_id, kind, rating, ts)
            sw.lap("log")
            # On a Redis Cluster the global step needs only the event: sent now, read after the
            # fold-in (core.cluster_pending); the user step follows it in order.
            step1 = self._cluster_begin(event)
            sw.lap("features")
            if self._missed(user_id, state, event):  # another process wrote this user meanwhile
                state = self._state(user_id, refresh=True)
            else:
                self._overlay(state, event)
                state.last_event_id, state.n_live = event.id, state.n_live + 1
                self._refold_event(state, event)
            state.recorded = event.id
            j = self._idx_of.get(item_id)
            if j is not None:
                self._pop[j] += 1
            sw.lap("foldin")
            # A personal list never reads the store, so its write is sent now and its reply read
            # after the search (core.store_pending); a popular list reads the counts it writes.
            pending: PendingWrite | ClusterPending | None = None
            if step1 is not None:
                cluster_pending.send_user(step1, state.vector, embedding_tag(self.version,
                                                                             state.last_event_id))
                pending = step1
            elif state.personal:
                pending = self._apply_begin(event, state)
            if pending is None:
                self._apply(event, state)
            elif not state.personal:  # the popular list reads the counts: the write lands first
                self._apply_end(pending)
                pending = None
            sw.lap("features")
            try:
                after = self._rank(user_id, state, k, sw)
            finally:
                if pending is not None:
                    self._apply_end(pending)
            if pending is not None:
                sw.lap("features")  # the wait for the reply is the write's
                after = replace(after, timings=sw.timings(), degraded=self._degraded)
            state.last = after
            profile, movie = self._view(user_id, item_id) if with_view else (None, None)
            return EventResult(event.id, user_id, item_id, kind, rating, before, after, after.timings,
                               self._degraded, rank_changes(before, after), profile, movie)

    def _view(self, user_id: int, item_id: int) -> tuple[Profile, MovieRow]:
        return self.profile(user_id), self.movie(item_id, user_id)  # type: ignore[attr-defined]

    def rate(self, user_id: int, item_id: int, rating: float, k: int = DEFAULT_K, **options
             ) -> tuple[float | None, EventResult | None]:
        """Rate ``item_id`` unless the user's current rating already is ``rating``.

        Returns (the previous rating or None, the result or None when nothing changed): the same
        value again is a no-op; a different value is one new event that replaces the rating.
        ``options`` go to ``record``.
        """
        with self._lock:
            user_id = self._check_user(user_id)
            item_id = self._check_item(item_id)
            previous = self._state(user_id).ratings.get(item_id)
            if previous is not None and previous == check_rating(rating, self.half_stars):
                return previous, None
            return previous, self.record(user_id, item_id, "rating", rating, k=k, **options)

    def _missed(self, user_id: int, state: UserState, event: Event) -> bool:
        """Did events of the user from other processes land between the view and ``event``? (The
        log says at append time which event came before ``event``; else one log query.)"""
        if event.prev_id is not None:
            return event.prev_id != state.last_event_id
        between = self.log.backlog(user_id, state.last_event_id, event.id)[0]
        return [e.id for e in between] != [event.id]

    def _apply(self, event: Event, state: UserState, undone: Event | None = None) -> None:
        ready = self._store_ready()
        if ready == "down":
            return
        try:
            if ready == "healthy":
                tag = embedding_tag(self.version, state.last_event_id)
                status = self.store.apply(event, state.vector, tag, undone, self.log)
                if status in ("unseeded", "lost"):
                    self._catch_up()  # Redis came back empty or lost keys: rebuild it from the log
            elif state.vector is not None:  # recovered: the catch-up already applied the event
                self.store.set_embedding(event.user_id, state.vector,
                                         embedding_tag(self.version, state.last_event_id))
        except StoreError as exc:
            self._set_degraded(str(exc))

    def _apply_begin(self, event: Event, state: UserState) -> PendingWrite | None:
        """Send the event's write without waiting (a healthy real Redis only; else None, and
        ``_apply`` writes, retrying or recovering the store as it does)."""
        if self._degraded is not None:
            return None
        tag = embedding_tag(self.version, state.last_event_id)
        try:
            return store_pending.begin(self.store, event, state.vector, tag, self.log)
        except StoreError as exc:
            self._set_degraded(str(exc))
            return None

    def _cluster_begin(self, event: Event, undone: Event | None = None) -> ClusterPending | None:
        """Send a healthy cluster store's global step for ``event`` (an undo marker with the event
        it cancels, ``undone``) now; else None: written later."""
        if self._degraded is not None:
            return None
        return cluster_pending.begin(self.store, event, self.log, undone)

    def _apply_end(self, pending: PendingWrite | ClusterPending) -> None:
        try:
            status = cluster_pending.finish(pending) if isinstance(pending, ClusterPending) \
                else store_pending.finish(pending)
            if status in ("unseeded", "lost"):
                self._catch_up()  # Redis came back empty or lost keys: rebuild it from the log
        except StoreError as exc:
            self._set_degraded(str(exc))

    @pinned
    def undo_last(self, user_id: int, k: int = DEFAULT_K, with_view: bool = False) -> EventResult:
        """Cancel the user's newest logged event (it stays in the log, marked undone).

        ``with_view`` as for ``record``."""
        sw = Stopwatch()
        with self._lock:
            user_id = self._check_user(user_id)
            events = self.log.events(user_id)
            if not events:
                raise EngineError(f"user {user_id} has nothing to undo")
            target = events[-1]
            sw.lap("validate")
            state = self._state(user_id)
            before = state.last or self._rank(user_id, state, k, Stopwatch())
            sw.skip()
            undone = self.log.undo_last(user_id, target.id)  # one winner among concurrent undos
            if undone is None:
                self._state(user_id, refresh=True)
                raise EngineError(f"event {target.id} of user {user_id} was just undone or superseded "
                                  "by another process; nothing undone")
            marker = undone[0]
            sw.lap("log")
            # On a Redis Cluster the marker's global step is sent now, read after the re-read and
            # re-fold below; the user step follows it in order (as for a record)
            step1 = self._cluster_begin(marker, undone[1])
            sw.lap("features")
            state = self._state(user_id, refresh=True)
            state.recorded = marker.id
            j = self._idx_of.get(target.item_id)
            if j is not None:
                self._pop[j] -= 1
            sw.lap("foldin")
            if step1 is not None:
                cluster_pending.send_user(step1, state.vector, embedding_tag(self.version,
                                                                             state.last_event_id))
                self._apply_end(step1)
            else:
                self._apply(marker, state, undone=undone[1])
            sw.lap("features")
            after = self._rank(user_id, state, k, sw)
            state.last = after
            profile, movie = self._view(user_id, target.item_id) if with_view else (None, None)
            return EventResult(marker.id, user_id, target.item_id, "undo", target.rating, before, after,
                               after.timings, self._degraded, rank_changes(before, after), profile, movie)

"""Each user's in-process view: built from the model's history and the log, kept fresh.

A view (``UserState``) is cached per user and brought forward when another process wrote the
user: from the shared store when it can explain the gap (``core.freshness``), else from the log.
With the embedded store (private to this process) or Redis down, the log is the only trace of
another process's events; ``EventLog.stamp`` says without a query whether anyone else committed
since the view was last compared, so the per-user log query runs only when someone did.
"""

from __future__ import annotations

import numpy as np
from recsys_tui.core.engine_base import EngineBase
from recsys_tui.core.event_log import Event
from recsys_tui.core.feature_store import StoreError
from recsys_tui.core.freshness import plan
from recsys_tui.core.user_state import CLICK_VALUE, UserState

LONG_HISTORY = 128
"""From this many entries on, a view's arrays are built with NumPy rather than Python lists."""


class UserViews(EngineBase):
    """Builds, caches, refreshes and re-folds the users' views."""

    def _state(self, user_id: int, refresh: bool = False, sync: bool = True,
               fold: bool = True) -> UserState:
        """The user's view: cached, brought up to the store's watermark (``sync``), or rebuilt.

        ``fold=False``: a new view may be left unfolded (the caller re-folds it right away).
        """
        if self._deferred is not None:  # the store is read below: ping and catch it up first
            self._finish_open()
        state = self._users.get(user_id)
        if state is not None and not refresh:
            if sync:
                state = self._sync(user_id, state)
            if fold and not state.folded:
                self._refold(state)
            return state
        state = UserState()
        state.checked = self._log_stamp()
        idx, ratings = self.trained.history(user_id)
        ids = self.items.ids[idx]
        state.ratings = dict(zip(ids.tolist(), np.asarray(ratings, np.float64).tolist(), strict=True))
        logged = self.log.events(user_id, include_undone=True)
        cancelled = {e.undoes for e in logged if e.undoes}
        undone = {e.item_id for e in logged if e.id in cancelled}
        if undone:  # a model trained since a rating still holds it: the undo takes it back out
            for item in undone:
                state.ratings.pop(item, None)
            state.ratings.update(self._base_ratings(user_id, undone))
        live = [e for e in logged if e.kind != "undo" and e.id not in cancelled]
        for event in live:
            self._overlay(state, event)
        state.last_event_id = logged[-1].id if logged else 0
        state.n_live = len(live)
        if fold:
            self._refold(state)
        self._users[user_id] = state
        return state

    def _log_stamp(self) -> int | None:
        return self.log.stamp()

    def _base_ratings(self, user_id: int, items: set[int]) -> dict[int, float]:
        """The data set's own ratings of ``items`` by the user (what an undo falls back to)."""
        data = self.artifact.manifest.get("data")
        if isinstance(data, dict) and data.get("ratings_file"):
            return {}  # trained on another ratings file: the data set's ratings were not used
        inter = self.dataset.interactions
        rows = np.flatnonzero((inter.user_ids == user_id) & np.isin(inter.item_ids, list(items)))
        return {int(inter.item_ids[r]): float(inter.ratings[r]) for r in rows}

    def _sync(self, user_id: int, state: UserState) -> UserState:
        """Serve features from the store when it is ahead of this view (docs/DISTRIBUTED.md §2)."""
        if self._degraded is not None or self.store.kind == "fakeredis":
            # No shared store (Redis down, or the embedded one, private to this process): the log
            # is the only trace of another process's events (two sessions on one home).
            stamp = self._log_stamp()
            if stamp is not None and stamp == state.checked:
                return state  # nobody else has committed to the log since the last comparison
            if self.log.last_event_id(user_id) > state.last_event_id:
                state = self._state(user_id, refresh=True)
            state.checked = stamp if stamp is not None else -1
            return state
        try:
            if self.store.last_event_id(user_id) <= state.last_event_id:
                return state
            feats = self.store.user(user_id)
        except StoreError as exc:
            self._set_degraded(str(exc))
            return self._sync(user_id, state)
        catch = plan(user_id, state.last_event_id, state.n_live, feats, self.version)
        if catch.rebuild:
            return self._state(user_id, refresh=True)
        if not catch.events:
            return state
        for event in catch.events:
            self._overlay(state, event)
        state.n_live += len(catch.events)
        state.last_event_id = catch.events[-1].id
        self._refold(state, None if not catch.use_embedding else feats.embedding)
        state.last = None
        return state

    @staticmethod
    def _overlay(state: UserState, event: Event) -> None:
        if event.item_id in state.logged:
            state.logged.remove(event.item_id)
        state.logged.append(event.item_id)
        if event.kind == "rating":
            state.ratings[event.item_id] = float(event.rating)  # type: ignore[arg-type]
        else:
            state.clicks.add(event.item_id)

    def _refold(self, state: UserState, vector: np.ndarray | None = None) -> None:
        """Recompute the view's arrays and vector (``vector``: one already folded in elsewhere).

        The history (ratings over clicks) in model-index order, and each entry's recency (how many
        of the user's logged items are newer; -1 = not logged): plain lists for a typical history,
        array work for a long one (each is faster in its range; both give the same arrays)."""
        values = dict.fromkeys(state.clicks, CLICK_VALUE)
        values.update(state.ratings)
        if len(values) < LONG_HISTORY:
            self._arrays_short(state, values)
        else:
            self._arrays_long(state, values)
        state.seen_idx = state.idx
        if self.is_embedding and vector is not None:
            state.vector = vector
            state.personal = bool(len(state.idx)) and bool(np.any(state.vector != 0))
        elif self.is_embedding:
            state.vector = self.model.fold_in(state.idx, state.values, state.recency)
            state.personal = bool(len(state.idx)) and bool(np.any(state.vector != 0))
        else:
            state.vector = None
            state.personal = bool(len(state.idx)) and self.model.personal
        state.folded = True

    def _refold_event(self, state: UserState, event: Event) -> None:
        """``_refold`` after ``_overlay(state, event)`` of one new event: when the view's arrays
        were current before it, only the event's entry changes (one insertion or one value) and
        the recencies of the logged entries, instead of rebuilding every array from the
        ratings dict — at 25M a heavy user's view holds thousands of entries (docs/SCALE.md).
        The same arrays as ``_refold`` (tests/test_hot_path.py)."""
        if not state.folded or not self.is_embedding:
            self._refold(state)
            return
        j = self._idx_of.get(event.item_id)
        if j is not None:
            rating = state.ratings.get(event.item_id)
            value = np.float32(CLICK_VALUE if rating is None else rating)
            pos = int(np.searchsorted(state.idx, j))
            if pos < len(state.idx) and state.idx[pos] == j:
                state.values = state.values.copy()
                state.values[pos] = value
            else:
                state.idx = np.concatenate((state.idx[:pos], [j], state.idx[pos:]))
                state.values = np.concatenate((state.values[:pos], [value], state.values[pos:]))
        self._recency(state)
        state.seen_idx = state.idx
        state.vector = self.model.fold_in(state.idx, state.values, state.recency)
        state.personal = bool(len(state.idx)) and bool(np.any(state.vector != 0))

    def _recency(self, state: UserState) -> None:
        """Each entry's recency from ``state.logged`` (how many logged items are newer; -1 = not
        logged), for the sorted ``state.idx``."""
        state.recency = np.full(len(state.idx), -1, np.int64)
        if state.logged and len(state.idx):
            logged = self._indices(np.fromiter(state.logged, np.int64, len(state.logged)))
            age = len(logged) - 1 - np.arange(len(logged))
            pos = np.minimum(np.searchsorted(state.idx, logged), len(state.idx) - 1)
            hit = (logged >= 0) & (state.idx[pos] == logged)
            state.recency[pos[hit]] = age[hit]

    def _arrays_short(self, state: UserState, values: dict[int, float]) -> None:
        pairs = sorted((self._idx_of[i], v) for i, v in values.items() if i in self._idx_of)
        state.idx = np.array([p[0] for p in pairs], dtype=np.int64)
        state.values = np.array([p[1] for p in pairs], dtype=np.float32)
        newest = len(state.logged) - 1
        age = {self._idx_of[i]: newest - n for n, i in enumerate(state.logged) if i in self._idx_of}
        state.recency = np.array([age.get(p[0], -1) for p in pairs], dtype=np.int64)

    def _arrays_long(self, state: UserState, values: dict[int, float]) -> None:
        idx = self._indices(np.fromiter(values.keys(), np.int64, len(values)))
        vals = np.fromiter(values.values(), np.float64, len(values))
        known = idx >= 0
        order = np.argsort(idx[known], kind="stable")
        state.idx = idx[known][order]
        state.values = vals[known][order].astype(np.float32)
        self._recency(state)

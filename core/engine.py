"""The engine facade: the one object the CLI, the TUI, the replay and the tests talk to.

Hot path of one interaction (docs/ARCHITECTURE.md §2), each step timed with ``perf_counter_ns``:
validate → log (SQLite commit) → fold-in (exact ALS solve for the user) → features (one Redis
pipeline, embedding included) → search (FAISS) → rerank (drop seen items, attach reasons).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.catalogue import Catalogue
from recsys_tui.core.event_log import EVENT_KINDS, Event, EventLog
from recsys_tui.core.feature_store import FeatureStore, StoreError
from recsys_tui.core.freshness import embedding_tag, plan
from recsys_tui.core.home import Home
from recsys_tui.core.index import VectorIndex
from recsys_tui.core.keys import InvalidId, valid_id
from recsys_tui.core.log_open import open_event_log
from recsys_tui.core.reasons import contributions, top_shares
from recsys_tui.core.results import (
    Contributor,
    EventResult,
    HistoryEntry,
    MovieRow,
    Profile,
    RecList,
    Recommendation,
    SimilarItem,
    SimilarList,
    Status,
    Stopwatch,
    UserSummary,
    rank_changes,
)
from recsys_tui.core.threads import batch, pinned
from recsys_tui.data.fetch import half_stars
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.data.movielens import Dataset
from recsys_tui.models.base import EmbeddingModel, top_k

REASON_NAMES = 2
"""How many contributors a reason names; the app's detail pane shows up to ``REASON_SHOWN``."""
REASON_SHOWN = 4
CLICK_VALUE = 3.0
"""A click or view counts like a 3-star rating (a mild positive) unless the item is rated."""
RETRY_STORE_AFTER_S = 2.0
DEFAULT_K = 10


class EngineError(RecsysError):
    """A request the engine refuses (unknown user or item, bad rating, nothing to undo)."""


@dataclass
class _UserState:
    """A user's effective history: training ratings overlaid with logged events.

    ``logged`` lists the items the user touched online (in the event log), oldest first, each once
    at its latest event; the fold-in weights them by their recency (docs/METHOD.md §1).
    """

    ratings: dict[int, float] = field(default_factory=dict)
    clicks: set[int] = field(default_factory=set)
    logged: list[int] = field(default_factory=list)
    vector: np.ndarray | None = None
    idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    recency: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    seen_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    personal: bool = False
    last: RecList | None = None
    last_event_id: int = 0
    """The newest logged event (undo markers included) this view reflects (docs/DISTRIBUTED.md §2)."""
    n_live: int = 0
    """How many of the user's logged events are live (not undo markers, not undone)."""


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


class Engine:
    """Log in, record events, recommend, find similar items, search, history, profile."""

    def __init__(self, home: Home, dataset: Dataset, artifact: artifacts.Artifact, log: EventLog,
                 store: FeatureStore, index_kind: str | None = None) -> None:
        self.home = home
        self.dataset = dataset
        self.catalogue = Catalogue(dataset)
        self.half_stars = half_stars(dataset)
        self.dataset_name = str(dataset.info.get("name", home.dataset))
        self.synthetic = bool(dataset.info.get("synthetic", False))
        self.log = log
        self.store = store
        store.log_id = log.log_id
        self._lock = threading.RLock()
        self._users: dict[int, _UserState] = {}
        self._degraded: str | None = None
        self._retry_at = 0.0
        self._first_new_user = max(max(dataset.users, default=0), 0) + 1
        self._install(artifact, index_kind)
        self._pop = np.zeros(len(self.items.ids), np.float64)
        self._seed_popularity()

    # -- construction --------------------------------------------------------------------------

    @staticmethod
    def open(home: Home, redis_url: str | None = None, index: str | None = None,
             fallback_embedded: bool = False, log_url: str | None = None) -> Engine:
        """Load the dataset cache, the current artifact and the log; connect the store.

        The log is the home's SQLite file, or PostgreSQL at ``log_url`` (only when given: the CLI
        resolves ``--log-url`` / ``$RECSYS_TUI_LOG_URL``; scratch engines never share a log).

        An unreachable Redis starts the engine in degraded mode (or on the embedded store when
        ``fallback_embedded``); the log still records everything and is replayed later.
        """
        home.ensure()
        dataset = load_dataset(home.data, home.dataset)
        artifact = artifacts.load(home.artifacts)
        log = open_event_log(home.event_log, log_url)
        try:
            store = FeatureStore.open(redis_url)
            engine = Engine(home, dataset, artifact, log, store, index)
        except BaseException:
            log.close()
            raise
        try:
            store.ping()
        except StoreError as exc:
            if not fallback_embedded:
                engine._set_degraded(str(exc))
                return engine
            engine.store = FeatureStore.open(None)
            engine.store.log_id = log.log_id
        try:
            engine._catch_up()
        except StoreError as exc:  # e.g. Redis died during the catch-up: degrade, retry later
            engine._set_degraded(str(exc))
        return engine

    def close(self) -> None:
        self.log.close()

    def _install(self, artifact: artifacts.Artifact, index_kind: str | None) -> None:
        self.artifact = artifact
        self.trained = artifact.trained
        self.model = artifact.trained.model
        self.items = artifact.trained.items
        self.is_embedding = isinstance(self.model, EmbeddingModel)
        self.index = artifact.index
        if self.is_embedding and (self.index is None or (index_kind and index_kind != self.index.kind)):
            self.index = VectorIndex.build(self.model.item_factors, index_kind or "flat",
                                            tune_queries=self.model.user_factors)
        self._similar_index = None
        if self.is_embedding:
            f = self.model.item_factors.astype(np.float32)
            norms = np.linalg.norm(f, axis=1, keepdims=True)
            self._similar_index = VectorIndex.build(f / np.maximum(norms, 1e-12), "flat")
        self._idx_of = {int(i): n for n, i in enumerate(self.items.ids)}

    def _seed_popularity(self) -> None:
        counts = self.catalogue.n_ratings
        for n, item in enumerate(self.catalogue.item_ids.tolist()):
            j = self._idx_of.get(item)
            if j is not None:
                self._pop[j] = counts[n]
        for event in self.log.events():
            j = self._idx_of.get(event.item_id)
            if j is not None:
                self._pop[j] += 1

    @property
    def version(self) -> str:
        return self.artifact.version

    # -- the feature store, with degraded mode -------------------------------------------------

    def _set_degraded(self, reason: str) -> None:
        self._degraded = reason
        self._retry_at = time.monotonic() + RETRY_STORE_AFTER_S

    def _catch_up(self) -> set[int]:
        """Seed an empty store and apply every logged event it lacks; refresh embeddings."""
        seed = {int(i): float(c) for i, c in zip(self.catalogue.item_ids, self.catalogue.n_ratings,
                                                 strict=True)}
        touched = self.store.catch_up(seed, self.dataset.content_hash[:16], self.log.iter_all(),
                                      self.log.last_per_user())
        for user in touched:
            state = self._state(user)
            if state.vector is not None:
                self.store.set_embedding(user, state.vector, embedding_tag(self.version, state.last_event_id))
        return touched

    def _store_ready(self) -> str:
        """``healthy``, ``recovered`` (caught up from the log just now) or ``down``."""
        if self._degraded is None:
            return "healthy"
        if time.monotonic() < self._retry_at:
            return "down"
        try:
            self.store.ping()
            self._catch_up()
        except StoreError as exc:
            self._set_degraded(str(exc))
            return "down"
        self._degraded = None
        return "recovered"

    def reconnect(self) -> str | None:
        """Try the store now; return the remaining degradation reason (None when healthy)."""
        with self._lock:
            self._retry_at = 0.0
            self._store_ready()
            return self._degraded

    @property
    def degraded(self) -> str | None:
        return self._degraded

    # -- validation ----------------------------------------------------------------------------

    def _check_user(self, user_id: object) -> int:
        try:
            user_id = valid_id(user_id, "user id")
        except InvalidId as exc:
            raise EngineError(str(exc)) from None
        if user_id in self.dataset.users or self.trained.users.index(user_id) is not None:
            return user_id
        if self.log.is_registered(user_id):
            return user_id
        raise EngineError(
            f"unknown user {user_id}: MovieLens users are 1–{max(self.dataset.users)}; "
            "new users are created with `recsys-tui new-user` or in the app"
        )

    def _check_item(self, item_id: object) -> int:
        try:
            item_id = valid_id(item_id, "item id")
        except InvalidId as exc:
            raise EngineError(str(exc)) from None
        if not self.catalogue.has_item(item_id):
            raise EngineError(f"unknown item {item_id}: the catalogue has items "
                              f"{self.catalogue.item_ids[0]}–{self.catalogue.item_ids[-1]}")
        return item_id

    # -- user state ----------------------------------------------------------------------------

    def _state(self, user_id: int, refresh: bool = False, sync: bool = True) -> _UserState:
        """The user's view: cached, brought up to the store's watermark (``sync``), or rebuilt."""
        state = self._users.get(user_id)
        if state is not None and not refresh:
            return self._sync(user_id, state) if sync else state
        state = _UserState()
        idx, ratings = self.trained.history(user_id)
        ids = self.items.ids[idx]
        state.ratings = {int(i): float(r) for i, r in zip(ids, ratings, strict=True)}
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
        self._refold(state)
        self._users[user_id] = state
        return state

    def _base_ratings(self, user_id: int, items: set[int]) -> dict[int, float]:
        """The data set's own ratings of ``items`` by the user (what an undo falls back to)."""
        data = self.artifact.manifest.get("data")
        if isinstance(data, dict) and data.get("ratings_file"):
            return {}  # trained on another ratings file: the data set's ratings were not used
        inter = self.dataset.interactions
        rows = np.flatnonzero((inter.user_ids == user_id) & np.isin(inter.item_ids, list(items)))
        return {int(inter.item_ids[r]): float(inter.ratings[r]) for r in rows}

    def _sync(self, user_id: int, state: _UserState) -> _UserState:
        """Serve features from the store when it is ahead of this view (docs/DISTRIBUTED.md §2)."""
        if self._degraded is not None or self.store.kind == "fakeredis":
            # No shared store (Redis down, or the embedded one, private to this process): the log
            # is the only trace of another process's events (two sessions on one home).
            if self.log.last_event_id(user_id) > state.last_event_id:
                return self._state(user_id, refresh=True)
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
    def _overlay(state: _UserState, event: Event) -> None:
        if event.item_id in state.logged:
            state.logged.remove(event.item_id)
        state.logged.append(event.item_id)
        if event.kind == "rating":
            state.ratings[event.item_id] = float(event.rating)  # type: ignore[arg-type]
        else:
            state.clicks.add(event.item_id)

    def _refold(self, state: _UserState, vector: np.ndarray | None = None) -> None:
        """Recompute the view's arrays and vector (``vector``: one already folded in elsewhere)."""
        values = dict.fromkeys(state.clicks, CLICK_VALUE)
        values.update(state.ratings)
        pairs = [(self._idx_of[i], v) for i, v in values.items() if i in self._idx_of]
        pairs.sort()
        state.idx = np.array([p[0] for p in pairs], dtype=np.int64)
        state.values = np.array([p[1] for p in pairs], dtype=np.float32)
        newest = len(state.logged) - 1
        age = {self._idx_of[i]: newest - n for n, i in enumerate(state.logged) if i in self._idx_of}
        state.recency = np.array([age.get(p[0], -1) for p in pairs], dtype=np.int64)
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

    # -- recommending --------------------------------------------------------------------------

    def _contributors(self, state: _UserState, shares: list[tuple[int, float]]) -> tuple[Contributor, ...]:
        out = []
        for row, share in shares:
            item = int(self.items.ids[state.idx[row]])
            out.append(Contributor(item, self.catalogue.title(item), state.ratings.get(item), share))
        return tuple(out)

    @staticmethod
    def _reason(because: tuple[Contributor, ...]) -> str:
        """``because you rated A ★5, B ★4`` (the largest terms first; viewed items say so)."""
        named = because[:REASON_NAMES]
        rated = [f"{c.title} ★{c.rating:g}" for c in named if c.rating]
        viewed = [c.title for c in named if not c.rating]
        parts = ([f"you rated {', '.join(rated)}"] if rated else []) + \
            ([f"you viewed {', '.join(viewed)}"] if viewed else [])
        return "because " + " and ".join(parts)

    def _popular(self, state: _UserState, k: int) -> list[tuple[int, float]]:
        seen = set(self.items.ids[state.seen_idx].tolist())
        if self._degraded is None:
            try:
                rows = self.store.popular(k + len(seen))
                picked = [(i, c) for i, c in rows if i not in seen and i in self._idx_of]
                if len(picked) >= k:
                    return picked[:k]
            except StoreError as exc:
                self._set_degraded(str(exc))
        best = top_k(self._pop, k, exclude=state.seen_idx)
        return [(int(self.items.ids[j]), float(self._pop[j])) for j in best]

    def _rank(self, user_id: int, state: _UserState, k: int, sw: Stopwatch) -> RecList:
        if not state.personal:
            pairs = self._popular(state, k)
            sw.lap("search")
            recs = [Recommendation(n + 1, i, self.catalogue.title(i), s, f"popular now ({s:.0f} ratings)")
                    for n, (i, s) in enumerate(pairs)]
            sw.lap("rerank")
            return RecList(user_id, recs, False, self.version, sw.timings(), self._degraded,
                           self.trained.name)
        if self.is_embedding and self.index is not None:
            pool = self._pool(k)  # two-stage models re-rank a wider candidate set
            cand, scores = self.index.search(state.vector, pool + len(state.seen_idx))
            sw.lap("search")
            keep = ~np.isin(cand, state.seen_idx)
            cand, scores = cand[keep][:pool], scores[keep][:pool]
            cand, scores = self.model.rerank(state.idx, state.values, cand, k, scores, state.recency)
        else:
            all_scores = self.model.score_history(state.idx, state.values, state.recency)
            cand = top_k(all_scores, k, exclude=state.seen_idx)
            scores = all_scores[cand]
            sw.lap("search")
        contrib = contributions(self.model, state.idx, state.values, cand, state.recency)
        shares = top_shares(contrib, REASON_SHOWN) if contrib is not None else [[] for _ in cand]
        recs = []
        for n, (j, s) in enumerate(zip(cand.tolist(), scores.tolist(), strict=True)):
            item = int(self.items.ids[j])
            because = self._contributors(state, shares[n])
            reason = self._reason(because) if because else "similar to your ratings"
            recs.append(Recommendation(n + 1, item, self.catalogue.title(item), float(s), reason, because))
        if len(recs) < k:  # an approximate index can return too few unseen items
            have = {r.item_id for r in recs}
            for i, s in self._popular(state, k):
                if len(recs) == k:
                    break
                if i not in have:
                    recs.append(Recommendation(len(recs) + 1, i, self.catalogue.title(i), s, "popular now"))
        sw.lap("rerank")
        return RecList(user_id, recs, True, self.version, sw.timings(), self._degraded, self.trained.name)

    def _pool(self, k: int) -> int:
        """How many index hits to keep before re-ranking: ``k``, or the model's candidate count."""
        return max(k, self.model.candidates(k))

    @pinned
    def recommend(self, user_id: int, k: int = DEFAULT_K) -> RecList:
        """The user's top-``k``: personal once they have a positive signal, else popular now."""
        sw = Stopwatch()
        with self._lock:
            user_id = self._check_user(user_id)
            k = self._check_k(k)
            self._store_ready()
            state = self._state(user_id)
            sw.lap("validate")
            result = self._rank(user_id, state, k, sw)
            state.last = result
            return result

    def _search_grouped(self, vectors: np.ndarray, seen_rows: list[np.ndarray],
                        pool: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Batch search where each user asks for ``pool`` + their own seen count, rounded up to a
        power of two: users grouped by that width, so a few heavy raters do not make every user's
        search as wide as theirs (cost and memory ~ ratings + users × pool, not users × the
        largest history). One (ids, scores) pair per user."""
        need = np.array([pool + len(s) for s in seen_rows], dtype=np.int64)
        bucket = 2 ** np.ceil(np.log2(np.maximum(need, 1))).astype(np.int64)
        cand: list[np.ndarray] = [np.empty(0, np.int64)] * len(need)
        scores: list[np.ndarray] = [np.empty(0, np.float32)] * len(need)
        for w in np.unique(bucket).tolist():
            rows = np.flatnonzero(bucket == w)
            ids, sc = self.index.search_batch(vectors[rows], w)  # type: ignore[union-attr]
            for n, r in enumerate(rows.tolist()):
                cand[r], scores[r] = ids[n], sc[n]
        return cand, scores

    def recommend_all(self, k: int = DEFAULT_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-``k`` for every known user at once: (user ids, item ids users×k, scores users×k).

        Batch work: runs with the process's thread pools (every core), not the serving pins.

        Users without logged events use their trained vectors (identical to a fold-in); the others
        are folded in from their full history. Embedding models use one batch index search.
        Slots a user cannot fill (fewer unseen items than ``k``) hold item id 0 and score -inf.
        """
        with self._lock, batch():
            k = self._check_k(k)
            logged = set(self.log.last_per_user())
            users = sorted(set(self.trained.users.ids.tolist()) | logged)
            states = {u: self._state(u, sync=False) for u in users if u in logged}
            train = self.trained.train
            seen_rows, vectors = [], []
            for u in users:
                if u in states:
                    seen_rows.append(states[u].seen_idx)
                    if self.is_embedding:
                        vectors.append(states[u].vector)
                else:
                    row = self.trained.users.index(u)
                    seen_rows.append(train.indices[train.indptr[row]:train.indptr[row + 1]])
                    if self.is_embedding:
                        vectors.append(self.model.user_factors[row])
            pool = self._pool(k)
            width = pool + max((len(s) for s in seen_rows), default=0)
            if self.is_embedding and self.index is not None:
                cand, scores = self._search_grouped(np.stack(vectors), seen_rows, pool)
            else:
                import scipy.sparse as sp

                rows = [self.trained.history(u) if u not in states else (states[u].idx, states[u].values)
                        for u in users]
                hist = sp.csr_matrix(
                    (np.concatenate([r[1] for r in rows]).astype(np.float32),
                     np.concatenate([r[0] for r in rows]).astype(np.int64),
                     np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])),
                    shape=(len(users), len(self.items.ids)))
                all_scores = self.model.score_users(hist)
                cand = np.argsort(-all_scores, axis=1, kind="stable")[:, :width]
                scores = np.take_along_axis(all_scores, cand, axis=1)
            out_items = np.zeros((len(users), k), dtype=np.int64)
            out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)
            for n, seen in enumerate(seen_rows):
                keep = (cand[n] >= 0) & ~np.isin(cand[n], seen)
                picked, picked_scores = cand[n][keep][:pool], scores[n][keep][:pool]
                u = users[n]  # a two-stage model re-ranks from the full history; else identity
                idx, values, recency = (states[u].idx, states[u].values, states[u].recency) \
                    if u in states else (*self.trained.history(u), None)
                picked, picked_scores = self.model.rerank(idx, values, picked, k, picked_scores, recency)
                out_items[n, :len(picked[:k])] = self.items.ids[picked[:k]]
                out_scores[n, :len(picked[:k])] = picked_scores[:k]
            return np.array(users, dtype=np.int64), out_items, out_scores

    @staticmethod
    def _check_k(k: object) -> int:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise EngineError(f"k must be an integer 1–1000, got {k!r}")
        return k

    # -- recording -----------------------------------------------------------------------------

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
            if kind not in EVENT_KINDS:
                raise EngineError(f"event kind must be one of {', '.join(EVENT_KINDS)}, got {kind!r}")
            if kind == "rating":
                rating = check_rating(rating, self.half_stars)
            elif rating is not None:
                raise EngineError(f"a {kind} carries no rating")
            if ts is not None and (isinstance(ts, bool) or not isinstance(ts, int | np.integer)
                                   or not 0 <= ts < 2**62):
                raise EngineError("ts must be seconds since the epoch, a non-negative integer")
            sw.lap("validate")
            # The store is read for freshness only when a "before" list is wanted: after the append
            # the log's prev_id says whether another process wrote this user (then: refresh).
            state = self._state(user_id, sync=with_before)
            before = None
            if with_before:
                before = state.last if state.last and len(state.last.items) == k \
                    else self._rank(user_id, state, k, Stopwatch())
                sw.skip()
            event = self.log.append(user_id, item_id, kind, rating, ts)
            sw.lap("log")
            if self._missed(user_id, state, event):  # another process wrote this user meanwhile
                state = self._state(user_id, refresh=True)
            else:
                self._overlay(state, event)
                state.last_event_id, state.n_live = event.id, state.n_live + 1
                self._refold(state)
            j = self._idx_of.get(item_id)
            if j is not None:
                self._pop[j] += 1
            sw.lap("foldin")
            self._apply(event, state)
            sw.lap("features")
            after = self._rank(user_id, state, k, sw)
            state.last = after
            profile, movie = self._view(user_id, item_id) if with_view else (None, None)
            return EventResult(event.id, user_id, item_id, kind, rating, before, after, after.timings,
                               self._degraded, rank_changes(before, after), profile, movie)

    def _view(self, user_id: int, item_id: int) -> tuple[Profile, MovieRow]:
        return self.profile(user_id), self.movie(item_id, user_id)

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

    def _missed(self, user_id: int, state: _UserState, event: Event) -> bool:
        """Did events of the user from other processes land between the view and ``event``? (The
        log says at append time which event came before ``event``; else one log query.)"""
        if event.prev_id is not None:
            return event.prev_id != state.last_event_id
        between = self.log.backlog(user_id, state.last_event_id, event.id)[0]
        return [e.id for e in between] != [event.id]

    def _apply(self, event: Event, state: _UserState, undone: Event | None = None) -> None:
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
            state = self._state(user_id, refresh=True)
            j = self._idx_of.get(target.item_id)
            if j is not None:
                self._pop[j] -= 1
            sw.lap("foldin")
            self._apply(marker, state, undone=target)
            sw.lap("features")
            after = self._rank(user_id, state, k, sw)
            state.last = after
            profile, movie = self._view(user_id, target.item_id) if with_view else (None, None)
            return EventResult(marker.id, user_id, target.item_id, "undo", target.rating, before, after,
                               after.timings, self._degraded, rank_changes(before, after), profile, movie)

    def new_user(self) -> int:
        """Register a brand-new user (cold start) and return the id.

        The id is above every user the home knows: the data set, every published model (a
        ``train --ratings`` file brings its own users) and every logged event or registration.
        """
        with self._lock:
            known = max(int(self.trained.users.ids.max(initial=0)),
                        artifacts.max_user_id(self.home.artifacts), self.log.max_user_id())
            return self.log.register_user(max(self._first_new_user, known + 1))

    # -- browsing ------------------------------------------------------------------------------

    @pinned
    def similar(self, item_id: int, k: int = DEFAULT_K) -> SimilarList:
        """Items whose vectors point the same way (cosine); co-rating overlap for other models."""
        sw = Stopwatch()
        with self._lock:
            item_id = self._check_item(item_id)
            k = self._check_k(k)
            sw.lap("validate")
            j = self._idx_of.get(item_id)
            if j is None:
                return SimilarList(item_id, [], sw.timings())
            if self._similar_index is not None:
                q = self._similar_index.index.reconstruct(j)
                cand, sims = self._similar_index.search(q, k + 1)
            else:
                col = self.trained.train[:, j]
                co = np.asarray((self.trained.train.T @ col).todense()).ravel()
                norms = np.sqrt(np.maximum(self.trained.popularity, 1) * max(col.nnz, 1))
                sims_all = co / norms
                cand = top_k(sims_all, k + 1)
                sims = sims_all[cand]
            sw.lap("search")
            out = [SimilarItem(int(self.items.ids[c]), self.catalogue.title(int(self.items.ids[c])),
                               float(s)) for c, s in zip(cand.tolist(), sims.tolist(), strict=True)
                   if c != j][:k]
            sw.lap("rerank")
            return SimilarList(item_id, out, sw.timings())

    def search(self, text: str = "", genre: str | None = None, user_id: int | None = None,
               limit: int | None = 200) -> list[MovieRow]:
        """Catalogue rows matching every word of ``text`` (and ``genre``), most rated first."""
        with self._lock:
            ratings = self._state(self._check_user(user_id)).ratings if user_id is not None else None
            try:
                return self.catalogue.search(text[:200], genre, limit, ratings)
            except ValueError as exc:
                raise EngineError(str(exc)) from None

    def movie(self, item_id: int, user_id: int | None = None) -> MovieRow:
        with self._lock:
            item_id = self._check_item(item_id)
            rating = self._state(self._check_user(user_id)).ratings.get(item_id) if user_id else None
            return self.catalogue.row(item_id, rating)

    def users(self) -> list[UserSummary]:
        """Every MovieLens user plus the new users created here.

        ``n_ratings`` is the user's MovieLens ratings plus the ratings logged here (the rating
        events ``history`` lists and ``profile`` counts).
        """
        with self._lock:
            logged = set(self.log.last_per_user())
            rows = [self._summary(u, False, u in logged) for u in sorted(self.dataset.users)]
            rows += [self._summary(u, True, u in logged) for u in self.log.registered_users()]
            return rows

    def user(self, user_id: int) -> UserSummary:
        with self._lock:
            user_id = self._check_user(user_id)
            return self._summary(user_id, user_id not in self.dataset.users, True)

    def _summary(self, user_id: int, new: bool, logged: bool) -> UserSummary:
        row = self.catalogue.user_summary(user_id, new=new)
        if not logged:
            return row
        here = sum(e.kind == "rating" for e in self.log.events(user_id))
        return dataclasses.replace(row, n_ratings=row.n_ratings + here)

    def history(self, user_id: int) -> list[HistoryEntry]:
        """Every logged event of the user that was not undone, oldest first."""
        with self._lock:
            user_id = self._check_user(user_id)
            return [HistoryEntry(e.id, e.item_id, self.catalogue.title(e.item_id), e.kind, e.rating, e.ts)
                    for e in self.log.events(user_id)]

    def profile(self, user_id: int, recent: int = 20) -> Profile:
        with self._lock:
            user_id = self._check_user(user_id)
            events = self.log.events(user_id)
            counts = {kind: sum(e.kind == kind for e in events) for kind in EVENT_KINDS}
            state = self._state(user_id)
            genres: dict[str, int] = {}
            for item, r in state.ratings.items():
                if r >= 4:
                    for g in self.catalogue.movies[item].genres:
                        genres[g] = genres.get(g, 0) + 1
            top = sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            rows = [HistoryEntry(e.id, e.item_id, self.catalogue.title(e.item_id), e.kind, e.rating, e.ts)
                    for e in reversed(events[-recent:])]
            return Profile(user_id, self.catalogue.user_counts.get(user_id, 0), counts, top, rows,
                           self._degraded)

    # -- model versions ------------------------------------------------------------------------

    def reload(self, version: str | None = None, index: str | None = None) -> tuple[str, int]:
        """Switch to a published version (default: current) and re-fold every cached user.

        Events are never lost: user states are rebuilt from the artifact and the log.
        """
        artifact = artifacts.load(self.home.artifacts, version)
        with self._lock:
            users = list(self._users)
            self._install(artifact, index or (self.index.kind if self.index else None))
            self._pop = np.zeros(len(self.items.ids), np.float64)
            self._seed_popularity()
            self._users.clear()
            for user in users:
                state = self._state(user)
                if state.vector is not None and self._degraded is None:
                    try:
                        self.store.set_embedding(user, state.vector,
                                                 embedding_tag(self.version, state.last_event_id))
                    except StoreError as exc:
                        self._set_degraded(str(exc))
            return self.version, len(users)

    def set_index(self, kind: str) -> None:
        """Rebuild the item index as ``flat``, ``hnsw`` or ``ivf`` (embedding models only)."""
        with self._lock:
            if self.is_embedding:
                self.index = VectorIndex.build(self.model.item_factors, kind,
                                                tune_queries=self.model.user_factors)

    def user_arrays(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's effective history as (item indices, values) in the model's item space."""
        with self._lock:
            state = self._state(self._check_user(user_id))
            return state.idx.copy(), state.values.copy()

    def popular_items(self, user_id: int, k: int = DEFAULT_K) -> list[tuple[int, float]]:
        """Online popularity (the store's counts; in-memory when degraded), seen items excluded."""
        with self._lock:
            return self._popular(self._state(self._check_user(user_id)), self._check_k(k))

    @pinned
    def poll(self, user_id: int) -> bool:
        """Has another process recorded something for ``user_id`` since this view? (Cross-process
        freshness: one HGET of the user's store watermark, or one log query when degraded; the
        view is brought forward as a side effect, so the next ``recommend``/``profile`` shows it.)"""
        with self._lock:
            user_id = self._check_user(user_id)
            state = self._users.get(user_id)
            if state is None:
                return False
            self._store_ready()
            before = state.last_event_id
            return self._state(user_id).last_event_id != before

    def status(self) -> Status:
        with self._lock:
            problems: list[str] = []
            if self._degraded is None:
                try:
                    problems = self.store.problems()
                except StoreError as exc:
                    self._set_degraded(str(exc))
            return Status(self.trained.name, self.version, self.index.kind if self.index else None,
                          self.store.kind, self.store.url, self._degraded, self.log.count(),
                          str(self.home.root), tuple(problems), self.dataset_label,
                          f"{self.log.kind} {self.log.path}")

    @property
    def dataset_label(self) -> str:
        """The data set's name, marked when it is synthetic (status line, status command)."""
        return f"{self.dataset_name} (synthetic)" if self.synthetic else self.dataset_name

    def embedding(self, user_id: int) -> np.ndarray | None:
        """The user's current vector (embedding models)."""
        with self._lock:
            return self._state(self._check_user(user_id)).vector


def open_engine(home: str | Path | None = None, redis_url: str | None = None,
                index: str | None = None, fallback_embedded: bool = False,
                log_url: str | None = None) -> Engine:
    """Convenience for scripts: resolve the home and open the engine."""
    return Engine.open(Home.resolve(home), redis_url, index, fallback_embedded, log_url)

"""What every part of the engine shares: the loaded model, index, catalogue, log and store, the
store's health (degraded mode), input validation and the in-memory popularity.

The engine is split by what a call does (docs/ARCHITECTURE.md §2): ``user_views`` keeps each
user's in-process view, ``hot_path`` records events and ranks, ``read_side`` answers browsing and
batch scoring, and ``engine`` is the facade that opens, reloads and closes it all.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core import artifacts
from recsys_tui.core.catalogue import Catalogue
from recsys_tui.core.event_log import EventLog
from recsys_tui.core.feature_store import FeatureStore, StoreError
from recsys_tui.core.freshness import embedding_tag
from recsys_tui.core.home import Home
from recsys_tui.core.index import VectorIndex
from recsys_tui.core.keys import InvalidId, valid_id
from recsys_tui.core.user_state import UserState
from recsys_tui.data.fetch import half_stars
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.summary import RatingSummary
from recsys_tui.models.base import EmbeddingModel, top_k

RETRY_STORE_AFTER_S = 2.0
"""After the store failed, how long the engine serves from the log before trying it again."""
DEFAULT_K = 10


class EngineError(RecsysError):
    """A request the engine refuses (unknown user or item, bad rating, nothing to undo)."""


class EngineBase:
    """State and helpers shared by the engine's parts (never used alone: see ``core.engine``)."""

    def __init__(self, home: Home, dataset: Dataset, artifact: artifacts.Artifact, log: EventLog,
                 store: FeatureStore, index_kind: str | None = None,
                 summary: RatingSummary | None = None) -> None:
        self.home = home
        self.dataset = dataset
        self.catalogue = Catalogue(dataset, summary)
        self.half_stars = half_stars(dataset)
        self.dataset_name = str(dataset.info.get("name", home.dataset))
        self.synthetic = bool(dataset.info.get("synthetic", False))
        self.log = log
        self.store = store
        store.log_id = log.log_id
        self._lock = threading.RLock()
        self._users: dict[int, UserState] = {}
        self._degraded: str | None = None
        self._retry_at = 0.0
        self._deferred: tuple[bool] | None = None
        """Set while the store's ping and catch-up wait for ``finish_open`` (``Engine.open``)."""
        self._first_new_user = max(max(dataset.users, default=0), 0) + 1
        self._install(artifact, index_kind)
        self._pop = np.zeros(len(self.items.ids), np.float64)
        self._seed_popularity()

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
        self._similar_built: VectorIndex | None = None
        ids = np.asarray(self.items.ids, dtype=np.int64)
        self._idx_of = {int(i): n for n, i in enumerate(ids)}
        # item id → model index as one array lookup (-1 = not in the model), for the hot path
        self._index_of = np.full(int(ids.max(initial=0)) + 1, -1, np.int64)
        self._index_of[ids] = np.arange(len(ids))

    @property
    def _similar_index(self) -> VectorIndex | None:
        """Cosine index of the item vectors for ``similar`` (embedding models; else None), built
        on first use (F3 in the app), not on the way to the login screen: ~0.1 s at 59k items."""
        if self._similar_built is None and self.is_embedding:
            f = self.model.item_factors.astype(np.float32)
            norms = np.linalg.norm(f, axis=1, keepdims=True)
            self._similar_built = VectorIndex.build(f / np.maximum(norms, 1e-12), "flat")
        return self._similar_built

    def _indices(self, item_ids: np.ndarray) -> np.ndarray:
        """Model indices of ``item_ids`` (-1 where the model does not know the item)."""
        inside = (item_ids >= 0) & (item_ids < len(self._index_of))
        return np.where(inside, self._index_of[np.where(inside, item_ids, 0)], -1)

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

    @property
    def dataset_label(self) -> str:
        """The data set's name, marked when it is synthetic (status line, status command)."""
        return f"{self.dataset_name} (synthetic)" if self.synthetic else self.dataset_name

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
            state = self._state(user)  # type: ignore[attr-defined]  (core.user_views)
            if state.vector is not None:
                self.store.set_embedding(user, state.vector, embedding_tag(self.version, state.last_event_id))
        return touched

    def _finish_open(self) -> None:
        """The store's deferred ping and catch-up (``core.engine``)."""

    def _store_ready(self) -> str:
        """``healthy``, ``recovered`` (caught up from the log just now) or ``down``."""
        if self._deferred is not None:
            self._finish_open()
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

    @staticmethod
    def _check_k(k: object) -> int:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise EngineError(f"k must be an integer 1–1000, got {k!r}")
        return k

    # -- shared by ranking and browsing --------------------------------------------------------

    def _pool(self, k: int) -> int:
        """How many index hits to keep before re-ranking: ``k``, or the model's candidate count."""
        return max(k, self.model.candidates(k))

    def _popular(self, state: UserState, k: int) -> list[tuple[int, float]]:
        """Online popularity (the store's counts; in-memory when degraded), seen items excluded."""
        seen = set(self.items.ids[state.seen_idx].tolist())
        if self._deferred is not None:
            self._finish_open()
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

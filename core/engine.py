"""The engine facade: the one object the CLI, the TUI, the API, the replay and the tests talk to.

``Engine`` joins the hot path (``core.hot_path``: record, rate, undo, recommend) and the read side
(``core.read_side``: similar, search, movie, users, history, profile, batch scoring) over shared
state (``core.engine_base``, ``core.user_views``); this module opens, reloads, reports on and
closes it. The hot path of one interaction is described in docs/ARCHITECTURE.md §2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from recsys_tui.core import artifacts
from recsys_tui.core.engine_base import DEFAULT_K, RETRY_STORE_AFTER_S, EngineError
from recsys_tui.core.feature_store import FeatureStore, StoreError
from recsys_tui.core.freshness import embedding_tag
from recsys_tui.core.home import Home
from recsys_tui.core.hot_path import REASON_NAMES, REASON_SHOWN, HotPath, check_rating
from recsys_tui.core.index import VectorIndex
from recsys_tui.core.log_open import open_event_log
from recsys_tui.core.read_side import ReadSide
from recsys_tui.core.status_line import Status
from recsys_tui.core.threads import pinned
from recsys_tui.core.user_state import CLICK_VALUE
from recsys_tui.data.cache import load_cache
from recsys_tui.data.cache import summary as ratings_summary

__all__ = ["CLICK_VALUE", "DEFAULT_K", "REASON_NAMES", "REASON_SHOWN", "RETRY_STORE_AFTER_S", "Engine",
           "EngineError", "check_rating", "open_engine"]


class Engine(HotPath, ReadSide):
    """Log in, record events, recommend, find similar items, search, history, profile."""

    # -- construction --------------------------------------------------------------------------

    @staticmethod
    def open(home: Home, redis_url: str | None = None, index: str | None = None,
             fallback_embedded: bool = False, log_url: str | None = None,
             defer_store: bool = False) -> Engine:
        """Load the dataset cache, the current artifact and the log; connect the store.

        The log is the home's SQLite file, or PostgreSQL at ``log_url`` (only when given: the CLI
        resolves ``--log-url`` / ``$RECSYS_TUI_LOG_URL``; scratch engines never share a log).

        An unreachable Redis starts the engine in degraded mode (or on the embedded store when
        ``fallback_embedded``); the log still records everything and is replayed later.

        ``defer_store``: leave the store's ping and catch-up (seeding the embedded store's
        popularity: about a second at ML-25M size) to ``finish_open()``, which the app calls once its
        login table is up; any call that uses the store before that finishes it first.
        """
        home.ensure()
        # the ratings themselves are read only when something needs them (an undo of a data-set
        # rating, batch tools); the catalogue and login table open on their saved summary
        dataset = load_cache(home.data, name=home.dataset, lazy_ratings=True)
        summary = ratings_summary(home.data, dataset, home.dataset)
        artifact = artifacts.load(home.artifacts)
        log = open_event_log(home.event_log, log_url)
        try:
            store = FeatureStore.open(redis_url)
            engine = Engine(home, dataset, artifact, log, store, index, summary)
        except BaseException:
            log.close()
            raise
        engine._deferred = (fallback_embedded,)
        if not defer_store:
            engine.finish_open()
        return engine

    def finish_open(self) -> None:
        """Ping the store and catch it up from the log (``open`` does this unless told to leave it
        for later; a second call does nothing)."""
        with self._lock:
            self._finish_open()

    def _finish_open(self) -> None:
        if self._deferred is None:
            return
        (fallback_embedded,), self._deferred = self._deferred, None
        if self.index is not None:
            self.index.prepare()  # the flat index's norm-ordered copy, before the first event
        self.catalogue.prepare()  # the search's normalised titles, likewise
        try:
            self.store.ping()
        except StoreError as exc:
            if not fallback_embedded:
                self._set_degraded(str(exc))
                return
            self.store.close()
            self.store = FeatureStore.open(None)
            self.store.log_id = self.log.log_id
        try:
            self._catch_up()
        except StoreError as exc:  # e.g. Redis died during the catch-up: degrade, retry later
            self._set_degraded(str(exc))

    def close(self) -> None:
        """Close the store's connections (a Redis Cluster client too) and the log."""
        try:
            self.store.close()
        finally:
            self.log.close()

    def new_user(self) -> int:
        """Register a brand-new user (cold start) and return the id.

        The id is above every user the home knows: the data set, every published model (a
        ``train --ratings`` file brings its own users) and every logged event or registration.
        """
        with self._lock:
            known = max(int(self.trained.users.ids.max(initial=0)),
                        artifacts.max_user_id(self.home.artifacts), self.log.max_user_id())
            return self.log.register_user(max(self._first_new_user, known + 1))

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

    @pinned
    def poll(self, user_id: int, shown: int | None = None) -> bool:
        """Has another process recorded something for ``user_id`` since the list the caller shows
        (``shown``: that list's ``RecList.as_of``) — or, without ``shown``, since this view?
        (Cross-process freshness: one HGET of the user's store watermark; with the embedded store
        or Redis down, one log query, and only once another connection has committed to the log
        since the last check. The view is brought forward as a side effect, so the next
        ``recommend`` shows it. Pass ``shown``: any other read — a search, a movie row — may bring
        the view forward first, and then only the caller knows its list is old. The caller's own
        newest event is not news: its list arrives with the event's own result.)"""
        with self._lock:
            user_id = self._check_user(user_id)
            state = self._users.get(user_id)
            if state is None:
                return False
            self._store_ready()
            own, before = state.recorded, state.last_event_id
            latest = self._state(user_id).last_event_id
            if shown is None:
                return latest != before
            return latest != shown and latest != own

    def status(self) -> Status:
        with self._lock:
            self._finish_open()  # a store not yet caught up would report itself unseeded
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


def open_engine(home: str | Path | None = None, redis_url: str | None = None,
                index: str | None = None, fallback_embedded: bool = False,
                log_url: str | None = None) -> Engine:
    """Convenience for scripts: resolve the home and open the engine."""
    return Engine.open(Home.resolve(home), redis_url, index, fallback_embedded, log_url)

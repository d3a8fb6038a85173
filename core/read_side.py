"""The read side of the engine: browsing (similar, search, movie, users, history, profile) and
batch scoring for every user at once (``recommend_all``). Nothing here writes the log or the
store; per-user answers come from the same fresh views the hot path keeps (``core.user_views``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from recsys_tui.core.engine_base import DEFAULT_K, EngineError
from recsys_tui.core.event_log import EVENT_KINDS
from recsys_tui.core.results import (
    HistoryEntry,
    MovieRow,
    Profile,
    SimilarItem,
    SimilarList,
    Stopwatch,
    UserSummary,
)
from recsys_tui.core.threads import batch, pinned
from recsys_tui.core.user_views import UserViews
from recsys_tui.models.base import top_k

FREE_WAIT_S = 0.005
"""How long ``search_if_free`` waits for the engine (less than a frame of the app)."""


class ReadSide(UserViews):
    """Browsing and batch scoring."""

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

    def search_if_free(self, text: str = "", genre: str | None = None, user_id: int | None = None,
                       limit: int | None = 200) -> list[MovieRow] | None:
        """``search`` when no other call holds the engine within ``FREE_WAIT_S`` (a movie-pane
        read takes a few ms), else None: the app calls this on its UI thread and searches in a
        worker when it gets None. A refused query (unknown genre or user) also gives None, so the
        worker reports it as it always has."""
        if not self._lock.acquire(timeout=FREE_WAIT_S):
            return None
        try:
            return self.search(text, genre, user_id, limit)
        except EngineError:
            return None
        finally:
            self._lock.release()

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
            rows = self.catalogue.user_summaries(sorted(self.dataset.users))
            rows += self.catalogue.user_summaries(list(self.log.registered_users()), new=True)
            if logged:  # only users with logged events need the log's count added
                rows = [self._logged(row) if row.user_id in logged else row for row in rows]
            return rows

    def user(self, user_id: int) -> UserSummary:
        with self._lock:
            user_id = self._check_user(user_id)
            return self._summary(user_id, user_id not in self.dataset.users, True)

    def _summary(self, user_id: int, new: bool, logged: bool) -> UserSummary:
        row = self.catalogue.user_summary(user_id, new=new)
        return self._logged(row) if logged else row

    def _logged(self, row: UserSummary) -> UserSummary:
        """``row`` with the user's rating events logged here added to its count."""
        here = sum(e.kind == "rating" for e in self.log.events(row.user_id))
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

    def user_arrays(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's effective history as (item indices, values) in the model's item space."""
        with self._lock:
            state = self._state(self._check_user(user_id))
            return state.idx.copy(), state.values.copy()

    def popular_items(self, user_id: int, k: int = DEFAULT_K) -> list[tuple[int, float]]:
        """Online popularity (the store's counts; in-memory when degraded), seen items excluded."""
        with self._lock:
            return self._popular(self._state(self._check_user(user_id)), self._check_k(k))

    def embedding(self, user_id: int) -> np.ndarray | None:
        """The user's current vector (embedding models)."""
        with self._lock:
            return self._state(self._check_user(user_id)).vector

    # -- batch scoring -------------------------------------------------------------------------

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

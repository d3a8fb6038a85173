"""A fitted model with its id vocabularies and training history: what gets published and served."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from recsys_tui.common.fsutil import atomic_write_json, map_npz, save_npz
from recsys_tui.data.movielens import Interactions
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.base import EmbeddingModel, ModelError, ParamError, Recommender, top_k, top_k_rows
from recsys_tui.models.registry import create

BUNDLE_FILES = ("model.npz", "vocab.npz", "train.npz", "model.json")


def build_matrix(inter: Interactions, users: IdMap, items: IdMap) -> sp.csr_matrix:
    """users × items CSR of ratings; a repeated (user, item) keeps the latest rating.

    Without repeats (every MovieLens file) the CSR is built directly, in linear time; only when the
    direct build merged entries are the ratings sorted by time to keep each pair's latest.
    """
    u = users.indices(inter.user_ids)
    i = items.indices(inter.item_ids)
    keep = (u >= 0) & (i >= 0)
    if keep.all():
        direct = sp.csr_matrix((inter.ratings.astype(np.float32, copy=False), (u, i)),
                               shape=(len(users), len(items)), dtype=np.float32)
        if direct.nnz == len(u):  # no (user, item) pair was merged: nothing to choose between
            direct.sort_indices()
            return direct
    order = np.argsort(inter.timestamps[keep], kind="stable")
    u, i, r = u[keep][order], i[keep][order], inter.ratings[keep][order]
    flat = u * len(items) + i
    _, last = np.unique(flat[::-1], return_index=True)
    pick = len(flat) - 1 - last
    mat = sp.csr_matrix((r[pick], (u[pick], i[pick])), shape=(len(users), len(items)), dtype=np.float32)
    mat.sort_indices()
    return mat


@dataclass
class TrainedModel:
    """A model plus everything needed to serve it by raw MovieLens ids."""

    model: Recommender
    users: IdMap
    items: IdMap
    train: sp.csr_matrix
    popularity: np.ndarray

    @staticmethod
    def fit(name: str, inter: Interactions, item_ids: np.ndarray | None = None,
            **params) -> TrainedModel:
        """Fit ``name`` on ``inter``; the item vocabulary is ``item_ids`` (the catalogue) if given."""
        users = IdMap.from_ids(inter.user_ids)
        items = IdMap.from_ids(inter.item_ids if item_ids is None else item_ids)
        train = build_matrix(inter, users, items)
        model = create(name, **params).fit(train)
        popularity = np.bincount(train.indices, minlength=len(items)).astype(np.float32)
        return TrainedModel(model, users, items, train, popularity)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def is_embedding(self) -> bool:
        return isinstance(self.model, EmbeddingModel)

    def history(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Item indices and ratings the user had in training (empty when unknown)."""
        row = self.users.index(user_id)
        if row is None:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        lo, hi = self.train.indptr[row], self.train.indptr[row + 1]
        return self.train.indices[lo:hi].astype(np.int64), self.train.data[lo:hi]

    def recommend(self, user_id: int, k: int = 10) -> list[tuple[int, float]]:
        """Top-k (raw item id, score) for a user, training items excluded; unknown → popular."""
        items, ratings = self.history(user_id)
        scores = self.model.score_history(items, ratings) if len(items) else self.popularity
        best = top_k(scores, k, exclude=items)
        return [(int(self.items.ids[i]), float(scores[i])) for i in best]

    def recommend_rows(self, rows: np.ndarray, k: int = 10) -> np.ndarray:
        """Top-k item indices for training user rows (rows × k), training items excluded."""
        sub = self.train[rows]
        return top_k_rows(self.model.score_users(sub), k, exclude=sub)

    def save(self, folder: Path) -> None:
        """Write npz arrays (no pickle) and a JSON description into ``folder``."""
        save_npz(folder / "model.npz", **self.model.arrays())
        save_npz(folder / "vocab.npz", user_ids=self.users.ids, item_ids=self.items.ids,
                 popularity=self.popularity)
        save_npz(folder / "train.npz", indptr=self.train.indptr, indices=self.train.indices,
                 data=self.train.data)
        atomic_write_json(folder / "model.json", {"name": self.model.name, "params": self.model.params})

    @staticmethod
    def load(folder: Path) -> TrainedModel:
        """Inverse of ``save``; raises ``ModelError`` on a missing or malformed file."""
        try:
            meta = json.loads((folder / "model.json").read_text())
            model = create(meta["name"], **meta["params"])
            # mapped, not read: the training matrix (200 MB at ML-25M size) is paged in per user
            model.load_arrays(map_npz(folder / "model.npz"))
            vocab = map_npz(folder / "vocab.npz")
            tr = map_npz(folder / "train.npz")
            users, items = IdMap(vocab["user_ids"]), IdMap(vocab["item_ids"])
            train = sp.csr_matrix((tr["data"], tr["indices"], tr["indptr"]),
                                  shape=(len(users), len(items)))
            model.n_items = len(items)
        except ParamError as exc:  # a stored model whose parameters the code refuses: unusable files
            raise ModelError(f"model files in {folder} are unusable ({exc})") from None
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ModelError(f"model files in {folder} are unreadable ({exc})") from None
        return TrainedModel(model, users, items, train, vocab["popularity"])

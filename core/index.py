"""FAISS inner-product index over item vectors: exact ``flat`` (default), ``hnsw`` or ``ivf``."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from data.errors import RecsysError

INDEX_KINDS = ("flat", "hnsw", "ivf")
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
IVF_NPROBE_FRACTION = 1 / 8


class VectorIndexError(RecsysError):
    """The index cannot be built, loaded or searched."""


def _check_kind(kind: str) -> str:
    if kind not in INDEX_KINDS:
        raise VectorIndexError(f"unknown index type {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    return kind


class VectorIndex:
    """Item vectors behind a FAISS index; search returns item *indices* and inner products."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = _check_kind(kind)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    @staticmethod
    def build(vectors: np.ndarray, kind: str = "flat", *, nlist: int | None = None,
              ef_search: int = HNSW_EF_SEARCH, seed: int = 0) -> VectorIndex:
        """Index ``vectors`` (n × d float32) for maximum-inner-product search."""
        _check_kind(kind)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = x.shape
        if kind == "flat":
            index: faiss.Index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = ef_search
        else:
            nlist = nlist or max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(x)
            index.nprobe = max(1, int(np.ceil(nlist * IVF_NPROBE_FRACTION)))
        index.add(x)
        return VectorIndex(index, kind)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (indices, scores) for one query vector; fewer when the index is smaller."""
        ids, scores = self.search_batch(np.asarray(query, dtype=np.float32)[None, :], k)
        return ids[0], scores[0]

    def search_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` for many queries; missing slots are dropped per row by the caller (-1)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise VectorIndexError(f"query has shape {q.shape}, index dimension is {self.dim}")
        k = max(1, min(int(k), self.size))
        scores, ids = self.index.search(q, k)
        if q.shape[0] == 1:
            keep = ids[0] >= 0
            return ids[:, keep], scores[:, keep]
        return ids, scores

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @staticmethod
    def load(path: Path, kind: str) -> VectorIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise VectorIndexError(f"vector index {path.name} is unreadable ({first[:120]})") from None
        if kind == "hnsw":
            faiss.downcast_index(index).hnsw.efSearch = HNSW_EF_SEARCH
        return VectorIndex(index, kind)

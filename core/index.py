"""FAISS inner-product index over item vectors: exact ``flat`` (default), ``hnsw`` or ``ivf``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core.threads import batch, faiss_single

INDEX_KINDS = ("flat", "hnsw", "ivf")
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
"""Graph quality at build time; build time grows about linearly with it. 200 (inner-product
graph) took 271.6 s for 1M × 64; 64 on both cores over the L2 reduction below targets ≤ 120 s,
with ``efSearch`` tuned to the recall (100k: recall@10 0.98 at efSearch 128)."""
HNSW_EF_SEARCH = 512
"""The default when nothing was tuned (a safe, slower setting); ``tune_ef_search`` picks the
smallest value that reaches the recall target on held-out queries."""
HNSW_TARGET_RECALL = 0.96
"""Recall@10 asked of the tuning queries: 0.01 above the 0.95 promised on the evaluation queries."""
EF_SEARCH_GRID = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024)
IVF_NPROBE_FRACTION = 1 / 8
ADD_BLOCK = 50_000
BATCH_THREADS = max(1, faiss.omp_get_max_threads())
SERVING_BATCH = 64
"""Fewer queries than this run on one OpenMP thread: a single query on a busy machine otherwise
waits for its sibling threads (measured: flat, 18.7k items, k = 1000, two busy cores: 31 ms on two
threads, 0.6 ms on one); larger batches use every core."""
"""Vectors added per block when a build reports progress."""


def ivf_nprobe(nlist: int) -> int:
    """Inverted lists visited per query."""
    return max(1, int(np.ceil(nlist * IVF_NPROBE_FRACTION)))


class VectorIndexError(RecsysError):
    """The index cannot be built, loaded or searched."""


def _check_kind(kind: str) -> str:
    if kind not in INDEX_KINDS:
        raise VectorIndexError(f"unknown index type {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    return kind


class VectorIndex:
    """Item vectors behind a FAISS index; search returns item *indices* and inner products.

    HNSW searches inner products through the standard reduction to L2 (Bachrach et al. 2014):
    every item gets one more coordinate √(M² − ‖x‖²) (M = the largest norm), queries get 0, so the
    L2 order is the inner-product order; a graph built for L2 finds it far more reliably than one
    built on raw inner products (measured at 100k: recall@10 plateaued at 0.92 even at efSearch
    1024 on inner products, 0.98 at efSearch 128 after the reduction). Scores are converted back.
    """

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = _check_kind(kind)
        self.augmented = kind == "hnsw" and index.metric_type == faiss.METRIC_L2
        self._norm2 = 0.0
        if self.augmented and index.ntotal:  # every augmented vector has norm² = M²
            first = index.reconstruct(0)
            self._norm2 = float(np.dot(first.astype(np.float64), first.astype(np.float64)))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d) - int(self.augmented)

    @staticmethod
    def _augment_items(x: np.ndarray) -> np.ndarray:
        norms = np.einsum("ij,ij->i", x, x, dtype=np.float64)
        extra = np.sqrt(np.maximum(norms.max(initial=0.0) - norms, 0.0)).astype(np.float32)
        return np.ascontiguousarray(np.hstack([x, extra[:, None]]))

    def _query(self, q: np.ndarray) -> np.ndarray:
        if not self.augmented:
            return q
        return np.ascontiguousarray(np.hstack([q, np.zeros((len(q), 1), np.float32)]))

    @staticmethod
    def build(vectors: np.ndarray, kind: str = "flat", *, nlist: int | None = None,
              ef_search: int = HNSW_EF_SEARCH, m: int = HNSW_M,
              ef_construction: int = HNSW_EF_CONSTRUCTION, nprobe: int | None = None, seed: int = 0,
              progress: Callable[[int, int], None] | None = None) -> VectorIndex:
        """Index ``vectors`` (n × d float32) for maximum-inner-product search.

        ``progress(done, total)`` is called after each block of vectors is added (large HNSW builds
        take minutes).
        """
        with batch():  # batch work: every core (core/threads.py)
            return VectorIndex._build(vectors, kind, nlist=nlist, ef_search=ef_search, m=m,
                                      ef_construction=ef_construction, nprobe=nprobe, seed=seed,
                                      progress=progress)

    @staticmethod
    def _build(vectors: np.ndarray, kind: str, *, nlist: int | None, ef_search: int, m: int,
               ef_construction: int, nprobe: int | None, seed: int,
               progress: Callable[[int, int], None] | None) -> VectorIndex:
        _check_kind(kind)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = x.shape
        if kind == "flat":
            index: faiss.Index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(d + 1, m, faiss.METRIC_L2)  # the L2 reduction (class doc)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
            x = VectorIndex._augment_items(x)
        else:
            nlist = nlist or max(1, min(int(4 * np.sqrt(n)), n // 39 or 1))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(x)
            index.nprobe = nprobe or ivf_nprobe(nlist)
        block = ADD_BLOCK if progress is not None else max(n, 1)
        for lo in range(0, n, block):
            index.add(x[lo:lo + block])
            if progress is not None:
                progress(min(n, lo + block), n)
        return VectorIndex(index, kind)

    def tune_ef_search(self, queries: np.ndarray, k: int = 10,
                       target: float = HNSW_TARGET_RECALL) -> tuple[int, float]:
        """HNSW only: set the smallest ``efSearch`` of ``EF_SEARCH_GRID`` whose recall@``k`` on
        ``queries`` (against the exact search of the same vectors) reaches ``target``; return it
        and the recall measured (the largest value when none reaches it)."""
        if self.kind != "hnsw":
            raise VectorIndexError(f"efSearch applies to hnsw indexes, not {self.kind}")
        inner = faiss.downcast_index(self.index)
        q = self._query(np.ascontiguousarray(queries, dtype=np.float32))
        k = max(1, min(int(k), self.size))
        with batch():
            _, exact = faiss.downcast_index(inner.storage).search(q, k)
            for ef in EF_SEARCH_GRID:
                inner.hnsw.efSearch = ef
                _, found = inner.search(q, k)
                recall = float(np.mean([len(set(f) & set(e)) / k for f, e in
                                        zip(found.tolist(), exact.tolist(), strict=True)]))
                if recall >= target:
                    break
        return ef, recall

    def params(self) -> dict[str, int]:
        """The tuning knobs in force (M, efConstruction, efSearch for HNSW; nlist, nprobe for IVF)."""
        inner = faiss.downcast_index(self.index)
        if self.kind == "hnsw":
            hnsw = inner.hnsw
            return {"M": int(hnsw.nb_neighbors(1)), "efConstruction": int(hnsw.efConstruction),
                    "efSearch": int(hnsw.efSearch)}
        if self.kind == "ivf":
            return {"nlist": int(inner.nlist), "nprobe": int(inner.nprobe)}
        return {}

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (indices, scores) for one query vector; fewer when the index is smaller."""
        with faiss_single():  # one query: one OpenMP thread (core/threads.py)
            ids, scores = self.search_batch(np.asarray(query, dtype=np.float32)[None, :], k)
        return ids[0], scores[0]

    def search_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` for many queries; missing slots are dropped per row by the caller (-1)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise VectorIndexError(f"query has shape {q.shape}, index dimension is {self.dim}")
        k = max(1, min(int(k), self.size))
        faiss.omp_set_num_threads(1 if q.shape[0] < SERVING_BATCH else BATCH_THREADS)
        scores, ids = self.index.search(self._query(q), k)
        if self.augmented:  # ‖q‖² + M² − 2q·x  →  q·x
            qn = np.einsum("ij,ij->i", q, q)[:, None]
            scores = ((qn + self._norm2 - scores) / 2).astype(np.float32)
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

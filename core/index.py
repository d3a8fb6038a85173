"""FAISS inner-product index over item vectors: exact ``flat`` (default), ``hnsw`` or ``ivf``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.core.norm_scan import NormOrderedScan
from recsys_tui.core.threads import batch, faiss_single

INDEX_KINDS = ("flat", "hnsw", "ivf")
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 48
"""Graph degree and build effort, chosen on 1M ALS-shaped items × 64 with user vectors as queries
(docs/SCALE.md, "HNSW"): M 16/efConstruction 40, 24/48 and 32/64 all reach recall@10 ≥ 0.96 once
efSearch is tuned (384, 192, 128); 24/48 builds with ~20 % less CPU than 32/64 (182 against 233
CPU s on two cores) and answers at about the same cost, 16/40 needs a search twice as wide."""
HNSW_EF_SEARCH = 512
"""The default when nothing was tuned (a safe, slower setting); ``tune_ef_search`` picks the
smallest value that reaches the recall target on the queries it is given."""
HNSW_TARGET_RECALL = 0.96
"""Recall@10 asked of the tuning queries: 0.01 above the 0.95 promised on the evaluation queries."""
TUNING_QUERIES = 1000
"""User vectors (a seeded sample) on which an index built for a model tunes ``efSearch``."""
EF_SEARCH_GRID = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024)
IVF_NPROBE_FRACTION = 1 / 8
ADD_BLOCK = 50_000
"""Vectors added per block when a build reports progress."""
BATCH_THREADS = max(1, faiss.omp_get_max_threads())
SERVING_BATCH = 64
"""Fewer queries than this run on one OpenMP thread: a single query on a busy machine otherwise
waits for its sibling threads (measured: flat, 18.7k items, k = 1000, two busy cores: 31 ms on two
threads, 0.6 ms on one); larger batches use every core."""


def ivf_nprobe(nlist: int) -> int:
    """Inverted lists visited per query."""
    return max(1, int(np.ceil(nlist * IVF_NPROBE_FRACTION)))


class VectorIndexError(RecsysError):
    """The index cannot be built, loaded or searched."""


def tuning_rows(user_vectors: np.ndarray, n: int = TUNING_QUERIES, seed: int = 0) -> np.ndarray:
    """Row numbers (sorted) of a seeded sample of the non-zero user vectors: at most ``n`` and at
    most half of them, so the others can measure recall held out."""
    users = np.asarray(user_vectors)
    if users.ndim != 2:
        return np.zeros(0, np.int64)
    live = np.flatnonzero(np.any(users != 0, axis=1))
    if not len(live):
        return live
    size = min(n, max(1, len(live) // 2))
    return np.sort(np.random.default_rng(seed).choice(live, size=size, replace=False))


def tuning_queries(user_vectors: np.ndarray, n: int = TUNING_QUERIES, seed: int = 0) -> np.ndarray:
    """The tuning sample itself (``tuning_rows``): the real query distribution, as float32."""
    rows = tuning_rows(user_vectors, n, seed)
    return np.ascontiguousarray(np.asarray(user_vectors, dtype=np.float32)[rows]) if len(rows) else \
        np.zeros((0, 0), np.float32)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row of ``exact`` (ids, −1 = empty slot) found in the same row of ``found``."""
    if not len(exact):
        return 0.0
    hits = [len(set(f) & set(e) - {-1}) / max(1, len(set(e) - {-1}))
            for f, e in zip(np.asarray(found).tolist(), np.asarray(exact).tolist(), strict=True)]
    return float(np.mean(hits))


def _check_kind(kind: str) -> str:
    if kind not in INDEX_KINDS:
        raise VectorIndexError(f"unknown index type {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    return kind


class VectorIndex:
    """Item vectors behind a FAISS index; search returns item *indices* and inner products.

    HNSW is a graph built on inner products (``METRIC_INNER_PRODUCT``), its ``efSearch`` tuned on
    real queries: the model's user vectors (``build(..., tune_queries=...)``). ALS item factors
    have long-tailed norms (popular films have long vectors); the L2 reduction used before (one
    extra coordinate √(M² − ‖x‖²), Bachrach et al. 2014) put every item near one pole of a sphere,
    and a graph built for L2 there found the long vectors poorly: on the ALS factors of synthetic
    ML-25M × 0.1 (18,672 items, user vectors as queries) recall@10 was 0.39 at efSearch 64 and
    0.69 at 1024, against 0.98 at efSearch 64 for the inner-product graph (docs/SCALE.md). Indexes
    published with the reduction still load and search correctly (``augmented``).
    """

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = _check_kind(kind)
        self.augmented = kind == "hnsw" and index.metric_type == faiss.METRIC_L2
        self.tuning: dict[str, float | int] = {}
        """How ``efSearch`` was chosen (queries, recall on them, target), when it was tuned."""
        self._scan: NormOrderedScan | None = None
        """``flat``: the vectors longest first, for one query's exact search (``prepare``)."""
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

    def _query(self, q: np.ndarray) -> np.ndarray:
        if not self.augmented:
            return q
        return np.ascontiguousarray(np.hstack([q, np.zeros((len(q), 1), np.float32)]))

    @staticmethod
    def build(vectors: np.ndarray, kind: str = "flat", *, nlist: int | None = None,
              ef_search: int = HNSW_EF_SEARCH, m: int = HNSW_M,
              ef_construction: int = HNSW_EF_CONSTRUCTION, nprobe: int | None = None, seed: int = 0,
              tune_queries: np.ndarray | None = None, target: float = HNSW_TARGET_RECALL,
              progress: Callable[[int, int], None] | None = None) -> VectorIndex:
        """Index ``vectors`` (n × d float32) for maximum-inner-product search.

        HNSW: given ``tune_queries`` (the real query distribution: the model's user vectors, of
        which ``tuning_queries`` takes a seeded sample), ``efSearch`` is tuned on them for
        ``target`` recall@10; else it is ``ef_search``. ``progress(done, total)`` is called after
        each block of vectors is added (large HNSW builds take minutes). The build uses every core
        (``batch()``); searches keep the serving pins.
        """
        with batch():  # batch work: every core (core/threads.py)
            index = VectorIndex._build(vectors, kind, nlist=nlist, ef_search=ef_search, m=m,
                                       ef_construction=ef_construction, nprobe=nprobe, seed=seed,
                                       progress=progress)
        if kind == "hnsw" and tune_queries is not None and index.size:
            sample = tuning_queries(tune_queries, seed=seed)
            if len(sample):
                index.tune_ef_search(sample, target=target)
        return index

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
            index = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            index.hnsw.efSearch = ef_search
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

    def exact(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Exact top-``k`` item indices for ``queries`` (brute force over the stored vectors)."""
        inner = faiss.downcast_index(self.index)
        storage = faiss.downcast_index(inner.storage) if self.kind == "hnsw" else None
        if storage is None:
            raise VectorIndexError("exact search over the stored vectors is for hnsw indexes")
        q = self._query(np.ascontiguousarray(queries, dtype=np.float32))
        with batch():
            _, ids = storage.search(q, max(1, min(int(k), self.size)))
        return ids

    def tune_ef_search(self, queries: np.ndarray, k: int = 10,
                       target: float = HNSW_TARGET_RECALL) -> tuple[int, float]:
        """HNSW only: set the smallest ``efSearch`` of ``EF_SEARCH_GRID`` whose recall@``k`` on
        ``queries`` (against the exact search of the same vectors) reaches ``target``; return it
        and the recall measured (the largest value when none reaches it). ``queries`` should be
        the real query distribution (user vectors): random vectors need a different efSearch."""
        if self.kind != "hnsw":
            raise VectorIndexError(f"efSearch applies to hnsw indexes, not {self.kind}")
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim or not len(q):
            raise VectorIndexError(f"tuning queries have shape {q.shape}, index dimension is {self.dim}")
        inner = faiss.downcast_index(self.index)
        k = max(1, min(int(k), self.size))
        truth = self.exact(q, k)
        qa = self._query(q)  # the same reduction as a search (old L2-reduced indexes)
        with batch():
            for ef in EF_SEARCH_GRID:
                inner.hnsw.efSearch = ef
                _, found = inner.search(qa, k)
                measured = recall(found, truth)
                if measured >= target:
                    break
        self.tuning = {"efSearch": ef, "recall": measured, "target": target, "queries": len(q), "k": k}
        return ef, measured

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

    def prepare(self) -> None:
        """Build what ``search_unseen`` reads (``flat``: a norm-ordered copy of the vectors, ~20 ms
        and one more copy of them in memory at 59k × 64); done on first use otherwise."""
        if self.kind == "flat":
            self._exact_scan()

    def _ef_search(self) -> int:
        return int(faiss.downcast_index(self.index).hnsw.efSearch)

    def _exact_scan(self) -> NormOrderedScan | None:
        """The norm-ordered copy of the vectors (made once; None for an empty index)."""
        if self._scan is None and self.size:
            self._scan = NormOrderedScan(self.index.reconstruct_n(0, self.size))
        return self._scan

    def search_unseen(self, query: np.ndarray, k: int, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (indices, scores) for one query vector, leaving out the item indices ``seen``.

        ``flat``: the exact unseen top-``k`` (``core.norm_scan``: the vectors longest first, read
        until no unread one can win; at 59k items about 5 % of them for a median user, where a
        FAISS flat search reads all of them and, asked for ``k + len(seen)``, keeps a heap of
        thousands for a heavy user). ``ivf`` skips the seen items inside the search (a FAISS
        ``IDSelectorBitmap``, negated: the best unseen of the same ``nprobe`` lists as asking for
        ``k + len(seen)`` and filtering). ``hnsw`` asks for ``k + len(seen)`` and filters: FAISS's
        graph walk with a selector does not pass through excluded nodes, so where a user's own
        items surround the query it found a different (worse) list. When ``k + len(seen)`` is
        more than the tuned ``efSearch`` (a long history), the graph walk's beam was tuned for
        fewer results than asked, and the deep part of its list misses items (about a third of
        the unseen top-10 for users with 500+ ratings at synthetic ML-25M × 0.1): those users
        get the exact norm-ordered scan instead, which reads about as many rows for a heavy
        user as for a light one."""
        seen = np.asarray(seen, dtype=np.int64)
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != self.dim:
            raise VectorIndexError(f"query has shape {q.shape}, index dimension is {self.dim}")
        if self.kind == "flat" or (self.kind == "hnsw" and not self.augmented
                                    and k + len(seen) > self._ef_search()):
            scan = self._exact_scan()
            if scan is None:
                return np.empty(0, np.int64), np.empty(0, np.float32)
            ids, scores, _ = scan.search(q[0], k, seen)
            return ids, scores
        if self.kind == "hnsw" or not len(seen):
            ids, scores = self.search(q[0], k + len(seen))
            if len(seen):
                mask = np.zeros(self.size, bool)
                mask[seen[(seen >= 0) & (seen < self.size)]] = True
                keep = ~mask[ids]
                ids, scores = ids[keep], scores[keep]
            return ids[:k], scores[:k]
        mask = np.zeros(self.size, bool)
        mask[seen[(seen >= 0) & (seen < self.size)]] = True
        bits = np.packbits(mask, bitorder="little")  # referenced until the search returns
        excluded = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
        params = faiss.SearchParametersIVF(sel=faiss.IDSelectorNot(excluded),
                                           nprobe=int(faiss.downcast_index(self.index).nprobe))
        with faiss_single():  # one query: one OpenMP thread (core/threads.py)
            scores, ids = self.index.search(q, max(1, min(int(k), self.size)), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

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
        if kind == "hnsw" and faiss.downcast_index(index).hnsw.efSearch <= 0:
            faiss.downcast_index(index).hnsw.efSearch = HNSW_EF_SEARCH
        return VectorIndex(index, kind)  # efSearch as saved: tuned when it was built

"""The exact ALS user step for every row of a matrix at once (``ALSRecommender.fold_in_rows``).

For user u with entries j (item yⱼ, signed confidence cⱼ) the step solves
A x = b with A = YᵀY + λI + Σⱼ (|cⱼ| − 1) yⱼyⱼᵀ and b = Σⱼ max(cⱼ, 0) yⱼ (float64), the same
normal equations as the one-user ``fold_in``. A Python loop over users costs more in calls than in
arithmetic (~35 s at MovieLens-25M size), so the users are grouped instead:

- rows sorted by length and cut into *buckets* whose longest row is at most ``GROWTH`` × the
  shortest (little padding) and whose arrays stay within ``BUCKET_BYTES``;
- a bucket's histories padded to (B, L) with weight 0 (a padded entry adds nothing), its item
  vectors gathered to (B, L, f), and every A and b built by stacked ``np.matmul`` (A as ZᵀZ,
  Z = √|w|·Y, which NumPy hands to BLAS syrk; the rows with weights below 0 corrected after);
- every A factored by one stacked ``np.linalg.cholesky`` (a matrix that is not positive definite
  is reported by row, as the loop's LAPACK ``dposv`` did) and solved by batched substitution; or,
  where the caller knows every A is positive definite (λ > 0, ``definite``), the stack solved by
  one ``np.linalg.solve`` (LAPACK ``gesv``, as the one-user ``fold_in``): 17 % less CPU at ML-25M
  size, the same float32 vectors.

NumPy's stacked products and factorisations release the GIL, so the buckets are shared by as many
threads as the process's BLAS/OpenMP pools allow (``pool_threads``: every core by default, one
where the serving path pinned the pools), each with one BLAS thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

GROWTH = 1.25
"""A bucket's longest history is at most this many times its shortest (the padding it costs)."""
BUCKET_BYTES = 64 << 20
"""Bound on one bucket's float64 arrays: B rows × (2L + 2f) × f × 8 bytes (the gathered and the
weighted item vectors, A and its factor), per thread."""


def buckets(lengths: np.ndarray, f: int, growth: float = GROWTH,
            budget: int = BUCKET_BYTES) -> list[tuple[int, int]]:
    """[start, stop) runs of ``lengths`` (ascending, > 0) with max ≤ growth × min and
    (stop − start) × (2·max + 2f) × f × 8 ≤ budget (one row at least)."""
    out: list[tuple[int, int]] = []
    start, n = 0, len(lengths)
    while start < n:
        stop = int(np.searchsorted(lengths, growth * lengths[start], side="right"))
        top = int(lengths[stop - 1])
        stop = min(stop, start + max(1, budget // ((2 * top + 2 * f) * f * 8)))
        out.append((start, stop))
        start = stop
    return out


def cholesky_solve(lower: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with L Lᵀ x = b for a stack of lower-triangular L (B, f, f) and b (B, f), by forward and
    back substitution over the f columns (each step one product for the whole stack)."""
    f = b.shape[1]
    z = np.empty_like(b)
    for j in range(f):
        z[:, j] = (b[:, j] - np.einsum("bk,bk->b", lower[:, j, :j], z[:, :j])) / lower[:, j, j]
    x = np.empty_like(b)
    for j in range(f - 1, -1, -1):
        x[:, j] = (z[:, j] - np.einsum("bk,bk->b", lower[:, j + 1:, j], x[:, j + 1:])) / lower[:, j, j]
    return x


def pool_threads() -> int:
    """Threads the process's BLAS/OpenMP pools allow now (the most any has: OpenMP's is what
    implicit's fit uses), within this process's cores; 1 where the caller pinned every pool to 1."""
    counts = [lib.get("num_threads", 1) for lib in threadpool_info()
              if lib.get("user_api") in ("blas", "openmp")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(max(counts, default=1), cores))


class NotPositiveDefinite(ArithmeticError):
    """A row's system could not be factored (``row`` is its index in the matrix)."""

    def __init__(self, row: int) -> None:
        super().__init__(row)
        self.row = row


def solve_rows(ratings: sp.csr_matrix, conf: np.ndarray, y: np.ndarray, gram: np.ndarray,
               threads: int | None = None, growth: float = GROWTH,
               budget: int = BUCKET_BYTES, definite: bool = False) -> np.ndarray:
    """The user step of every row of ``ratings`` (users × items CSR, its stored entries' signed
    confidences ``conf``) against item vectors ``y`` (float64) with ``gram`` = YᵀY + λI; an empty
    row gives the zero vector. Rows × f, float32. Raises ``NotPositiveDefinite``.

    ``definite``: the caller knows every system is positive definite (λ > 0 in ``gram``: A =
    λI + Σ_{j∉u} yⱼyⱼᵀ + Σ_{j∈u} |cⱼ| yⱼyⱼᵀ); the stacked systems are then solved by LAPACK's
    ``gesv`` in one call (what the one-user ``fold_in`` uses), cheaper than the stacked Cholesky and
    its substitution; a singular stack still goes through the Cholesky diagnosis."""
    n_rows, f = ratings.shape[0], y.shape[1]
    out = np.zeros((n_rows, f), np.float32)
    counts = np.diff(ratings.indptr)
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]
    if not len(order):
        return out
    runs = buckets(counts[order], f, growth, budget)
    indptr, indices = ratings.indptr, ratings.indices

    def solve(run: tuple[int, int]) -> None:
        rows = order[run[0]:run[1]]
        starts, lengths = indptr[rows], counts[rows]
        width = int(lengths.max())
        offsets = np.arange(width)
        valid = offsets < lengths[:, None]
        at = np.minimum(starts[:, None] + offsets, (starts + lengths - 1)[:, None])  # pad: last entry
        c = conf[at]
        weight = np.where(valid, np.abs(c) - 1.0, 0.0)
        positive = np.where(valid & (c > 0), c, 0.0)
        items = y[indices[at]]  # (B, L, f)
        b = np.matmul(positive[:, None, :], items)[:, 0, :]
        # Yᵀ diag(w) Y as ZᵀZ with Z = √|w|·Y: a product of one array with itself, which NumPy
        # computes with BLAS syrk (half the work); entries of weight below 0 are then taken off twice
        items *= np.sqrt(np.abs(weight))[:, :, None]
        a = np.matmul(items.transpose(0, 2, 1), items)
        below = weight < 0
        some = np.flatnonzero(below.any(axis=1))
        if len(some):
            z = np.where(below[some, :, None], items[some], 0.0)
            a[some] -= 2.0 * np.matmul(z.transpose(0, 2, 1), z)
        a += gram
        if definite:
            try:
                out[rows] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
                return
            except np.linalg.LinAlgError:
                pass  # singular after all (rounding): name the row below
        try:
            lower = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            for k, row in enumerate(rows.tolist()):  # which one (the stack says only "some")
                try:
                    np.linalg.cholesky(a[k])
                except np.linalg.LinAlgError:
                    raise NotPositiveDefinite(row) from None
            raise
        out[rows] = cholesky_solve(lower, b)

    workers = min(pool_threads() if threads is None else max(1, threads), len(runs))
    # the costliest buckets first, so no thread is left with a long one at the end
    runs.sort(key=lambda r: -(r[1] - r[0]) * int(counts[order[r[1] - 1]]))
    with threadpool_limits(limits=1, user_api="blas"):
        _run(solve, runs, workers)
    return out


def _run(fn: Callable[[tuple[int, int]], None], runs: list[tuple[int, int]], workers: int) -> None:
    if workers <= 1:
        for run in runs:
            fn(run)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="als-rows") as pool:
        list(pool.map(fn, runs))  # consumed, so a worker's exception is raised here

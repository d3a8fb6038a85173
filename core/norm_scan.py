"""Exact top-k inner product for one query that reads only the vectors that can still win.

The item vectors are kept longest first. A query reads them in blocks of 2,048 rows and stops as
soon as the k-th best score found beats every vector not read yet: for those,
y·q ≤ ‖y‖‖q‖ ≤ ‖y_next‖‖q‖ (Cauchy–Schwarz), with a margin for float32 rounding. ALS item factors
have long-tailed norms (popular films have long vectors, and they are what a user's vector points
at), so on the ALS factors of synthetic ML-25M (59,047 items × 64) an event's unseen top-10 is
settled after reading a few thousand rows for most users (docs/SCALE.md), where a flat FAISS
search reads all of them for every event.

The answer is the exact top-k, the same items as a full scan, ties broken by item index; the
winners' scores are computed again in float64 and rounded once to float32, so they do not depend
on the order a machine's BLAS kernel sums in.
"""

from __future__ import annotations

import numpy as np

BLOCK = 2048
"""Rows read between two stopping checks (a check costs a partition of k + 2,048 scores)."""
ROUNDING = 1e-5
"""Relative margin on the bound: a float32 dot product of 64 terms can exceed the exact value by
about 64 · 2⁻²⁴ · ‖y‖‖q‖ ≈ 4e-6 · ‖y‖‖q‖, so a vector is ruled out only below the bound plus this."""


class NormOrderedScan:
    """Item vectors sorted by norm (longest first) and searched exactly with early stopping."""

    def __init__(self, vectors: np.ndarray) -> None:
        v = np.asarray(vectors, dtype=np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", v.astype(np.float64), v.astype(np.float64)))
        self.order = np.argsort(-norms, kind="stable")
        """Row of the original vectors at each sorted position."""
        self.vectors = np.ascontiguousarray(v[self.order])
        self.bounds = norms[self.order] * (1.0 + ROUNDING)
        self.position = np.empty(len(v), np.int64)
        """Sorted position of each original row."""
        self.position[self.order] = np.arange(len(v))

    def __len__(self) -> int:
        return len(self.order)

    def search(self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, int]:
        """The exact top-``k`` rows (best first, ties by row) and their scores, leaving out the rows
        ``exclude``; and how many vectors were read."""
        n = len(self.order)
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        q_norm = float(np.sqrt(np.dot(q.astype(np.float64), q.astype(np.float64))))
        excluded = None
        if exclude is not None and len(exclude):
            rows = np.asarray(exclude, dtype=np.int64)
            excluded = np.zeros(n, bool)
            excluded[self.position[rows[(rows >= 0) & (rows < n)]]] = True
        k = min(int(k), n - (int(np.count_nonzero(excluded)) if excluded is not None else 0))
        if k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32), 0
        scores = np.empty(n, np.float32)
        read, top = 0, np.empty(0, np.float32)  # top: the k best scores read so far
        while read < n:
            end = min(n, read + BLOCK)
            block = scores[read:end]
            np.dot(self.vectors[read:end], q, out=block)
            if excluded is not None:
                block[excluded[read:end]] = -np.inf
            read = end
            top = np.concatenate((top, block))
            if len(top) > k:
                top = np.partition(top, len(top) - k)[len(top) - k:]
            if read < n and len(top) == k and top.min() > self.bounds[read] * q_norm:
                break  # no unread vector can beat the k-th best
        seen = scores[:read]
        # ``top`` holds the k best of everything read (excluded rows count as -inf), so its least
        # is the k-th best: no second partition of all the scores read (16k for a heavy user)
        kth = top.min()
        best = np.flatnonzero(seen >= kth)  # the k best and whatever ties the k-th
        rows = self.order[best]
        # the few winners' scores again in float64, rounded once to float32: the same value
        # whatever order a machine's BLAS kernel sums in (the list shows them to 4 decimals)
        exact = self.vectors[best].astype(np.float64) @ q.astype(np.float64)
        ranked = np.lexsort((rows, -exact))[:k]
        return rows[ranked], exact[ranked].astype(np.float32), read

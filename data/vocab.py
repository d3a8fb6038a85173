"""Id vocabularies: raw MovieLens ids ↔ dense row/column indices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSE_LIMIT = 1 << 25
"""Largest raw id for which ``from_ids``/``indices`` use a table indexed by the id itself (O(n),
no sort; ≤ 128 MiB of int32) instead of sorting/binary search (O(n log n)); same results."""


@dataclass(frozen=True)
class IdMap:
    """Sorted raw ids; index ``i`` stands for ``ids[i]``."""

    ids: np.ndarray

    @staticmethod
    def from_ids(ids) -> IdMap:
        """The sorted distinct ids (a bincount when they are small non-negative integers)."""
        raw = np.asarray(ids, dtype=np.int64)
        if len(raw) and _dense(raw, len(raw)):
            return IdMap(np.flatnonzero(np.bincount(raw)).astype(np.int64))
        return IdMap(np.unique(raw))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, raw: int) -> int | None:
        """Index of one raw id, or None when unknown."""
        pos = int(np.searchsorted(self.ids, raw))
        return pos if pos < len(self.ids) and self.ids[pos] == raw else None

    def indices(self, raw: np.ndarray) -> np.ndarray:
        """Indices of many raw ids; -1 where unknown."""
        raw = np.asarray(raw, dtype=np.int64)
        if len(self.ids) and len(raw) and self.ids[0] >= 0 and _dense(self.ids, len(raw)):
            table = np.full(int(self.ids[-1]) + 1, -1, dtype=np.int64)
            table[self.ids] = np.arange(len(self.ids), dtype=np.int64)
            if int(raw.min()) >= 0 and int(raw.max()) < len(table):  # one gather, no masks
                return table[raw]
            inside = (raw >= 0) & (raw < len(table))
            return np.where(inside, table[np.where(inside, raw, 0)], -1)
        pos = np.searchsorted(self.ids, raw)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        known = (pos < len(self.ids)) & (self.ids[pos_clipped] == raw)
        return np.where(known, pos_clipped, -1)

    def __contains__(self, raw: int) -> bool:
        return self.index(raw) is not None


def _dense(ids: np.ndarray, n: int) -> bool:
    """Small non-negative ids: a table of max(ids) + 1 slots costs no more than a sort of ``n``."""
    low, high = int(ids.min()), int(ids.max())
    return low >= 0 and high < DENSE_LIMIT and high <= 8 * n + 1024

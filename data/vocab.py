"""Id vocabularies: raw MovieLens ids ↔ dense row/column indices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdMap:
    """Sorted raw ids; index ``i`` stands for ``ids[i]``."""

    ids: np.ndarray

    @staticmethod
    def from_ids(ids) -> IdMap:
        return IdMap(np.unique(np.asarray(ids, dtype=np.int64)))

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, raw: int) -> int | None:
        """Index of one raw id, or None when unknown."""
        pos = int(np.searchsorted(self.ids, raw))
        return pos if pos < len(self.ids) and self.ids[pos] == raw else None

    def indices(self, raw: np.ndarray) -> np.ndarray:
        """Indices of many raw ids; -1 where unknown."""
        raw = np.asarray(raw, dtype=np.int64)
        pos = np.searchsorted(self.ids, raw)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        known = (pos < len(self.ids)) & (self.ids[pos_clipped] == raw)
        return np.where(known, pos_clipped, -1)

    def __contains__(self, raw: int) -> bool:
        return self.index(raw) is not None

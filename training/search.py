"""What both hyper-parameter searches return (``tune`` offline, ``tune_online`` by replay): every
point tried, ranked by one score, the best first."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Row = TypeVar("Row")


@dataclass(kw_only=True)
class SearchResult(ABC, Generic[Row]):
    """Every point a search tried and the winner by ``metric``."""

    model: str
    metric: str
    n_fit: int
    """Ratings the candidates were fitted on."""
    rows: list[Row] = field(default_factory=list)
    elapsed_s: float = 0.0

    @abstractmethod
    def score(self, row: Row) -> tuple[float, ...]:
        """What ranks a row, higher first (ties keep the order the points were tried in)."""

    @property
    def best(self) -> Row:
        return max(self.rows, key=self.score)

    def ranked(self) -> list[Row]:
        """The rows best first."""
        return sorted(self.rows, key=self.score, reverse=True)

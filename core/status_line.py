"""The engine's status line (a dataclass of plain values: no NumPy, so ``status`` stays light)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    """What the engine is running on."""

    model: str
    model_version: str
    index: str | None
    store: str
    store_url: str
    degraded: str | None
    n_events: int
    home: str
    store_problems: tuple[str, ...] = ()
    """Why the store is not fully trusted although reachable (missing keys, warnings, repairs)."""
    dataset: str = "ml-100k"
    event_log: str = "sqlite"
    """The log backend and where it is (a PostgreSQL URL with its password hidden)."""

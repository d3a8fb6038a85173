"""One user's in-process view: effective history, folded-in vector, freshness marks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from recsys_tui.core.results import RecList

CLICK_VALUE = 3.0
"""A click or view counts like a 3-star rating (a mild positive) unless the item is rated."""


@dataclass
class UserState:
    """A user's effective history: training ratings overlaid with logged events.

    ``logged`` lists the items the user touched online (in the event log), oldest first, each once
    at its latest event; the fold-in weights them by their recency (docs/METHOD.md §1).
    """

    ratings: dict[int, float] = field(default_factory=dict)
    clicks: set[int] = field(default_factory=set)
    logged: list[int] = field(default_factory=list)
    vector: np.ndarray | None = None
    idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    recency: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    seen_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    personal: bool = False
    folded: bool = False
    """The arrays and vector reflect ``ratings``/``clicks``/``logged`` (False while a view is being
    built for an event that folds it in anyway)."""
    last: RecList | None = None
    last_event_id: int = 0
    """The newest logged event (undo markers included) this view reflects (docs/DISTRIBUTED.md §2)."""
    n_live: int = 0
    """How many of the user's logged events are live (not undo markers, not undone)."""
    recorded: int = 0
    """The newest event this engine itself logged for the user (``Engine.poll`` does not report
    the caller's own events as another session's)."""
    checked: int = -1
    """The log's change stamp when this view was last compared with the log (``EventLog.stamp``)."""

"""The status line: user, model version, index, feature store and its health, background work."""

from __future__ import annotations

from recsys_tui.common.text import plain
from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    """One line; degraded mode and errors are spelled out in words, not only in colour.

    Reads plain attributes of the engine (no engine lock), so it never waits on a worker. Error
    texts and store replies are outside text: rendered as ``Text(plain(...))``, never as markup.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.user_id: int | None = None
        self.engine = None
        self.busy = ""
        self.error = ""

    def refresh_line(self) -> None:
        parts = []
        if self.user_id is not None:
            parts.append(f"user {self.user_id}")
        e = self.engine
        degraded = None
        if e is not None:
            degraded = e.degraded
            parts.append(e.dataset_label)
            parts.append(f"{e.trained.name} {e.version}")
            parts.append(f"index {e.index.kind if e.index is not None else '-'}")
            parts.append(f"store {e.store.kind}: DEGRADED, using the event log" if degraded
                         else f"store {e.store.kind}: ok")
        if self.busy:
            parts.append(self.busy)
        if self.error:
            parts.append(f"ERROR: {self.error}")
        self.set_class(bool(degraded) or bool(self.error), "-alert")
        self.update(Text(plain(" · ".join(parts)), no_wrap=True, overflow="ellipsis"), layout=False)

"""A screen whose thread workers report failures through the app's one error path."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker, WorkerState


class EngineScreen(Screen):
    """Base for screens that run engine work in thread workers."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.worker_failed(event.worker)  # type: ignore[attr-defined]

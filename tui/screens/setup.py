"""Start-up: on first run fetch + train with visible progress, then open the engine (in a worker)."""

from __future__ import annotations

from recsys_tui.tui.messages import EngineReady, SetupProgress
from recsys_tui.tui.screens.base import EngineScreen
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Log, ProgressBar, Static
from textual.worker import Worker, WorkerState


class SetupScreen(EngineScreen):
    """Shows each stage and a progress bar; posts ``EngineReady`` when the engine is open."""

    def compose(self) -> ComposeResult:
        with Vertical(id="setup-box"):
            yield Static("recsys-tui: getting ready", id="setup-title")
            yield ProgressBar(total=None, show_eta=False, id="setup-bar")
            yield Log(id="setup-log", auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.prepare()

    @work(thread=True, exit_on_error=False, exclusive=True, group="setup")
    def prepare(self) -> None:
        services = self.app.services
        ran = False
        if services.needs_setup():
            if services.setup is None:
                raise RuntimeError("no dataset or model in this home, and no setup service to make them")
            ran = True
            self.post_message(SetupProgress("first run: fetching MovieLens-100K and training", None))
            services.setup(lambda text, fraction: self.post_message(SetupProgress(text, fraction)))
        self.post_message(SetupProgress("opening the engine", None))
        self.post_message(EngineReady(services.open_engine(), ran))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Textual also runs the base screen's handler (notification + ``app.errors``)."""
        if event.state == WorkerState.ERROR:
            self.query_one("#setup-log", Log).write_line(f"failed: {event.worker.error} (q quits)")

    def on_setup_progress(self, message: SetupProgress) -> None:
        bar = self.query_one("#setup-bar", ProgressBar)
        if message.fraction is None:
            if message.text:
                self.query_one("#setup-log", Log).write_line(message.text)
            bar.update(total=None)
        else:
            bar.update(total=100, progress=100 * message.fraction)

    def on_engine_ready(self, message: EngineReady) -> None:
        self.app.engine_ready(message.engine, message.setup_ran)

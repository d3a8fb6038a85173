"""Learning view: a short prequential replay with live moving-window HR@10 curves, then a table."""

from __future__ import annotations

import time
from typing import ClassVar

from recsys_tui.common.text import plain
from recsys_tui.tui.background import Cancelled, in_daemon
from recsys_tui.tui.messages import ReplayDone, ReplayPoint
from recsys_tui.tui.screens.base import EngineScreen
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

MARKERS = ("x", "•", "+", "o", "*", "#", "@")

ReplayStopped = Cancelled
"""Raised from the replay's progress callback once the view was closed or the app quit."""


class LearningScreen(EngineScreen):
    """Runs the injected replay in the background; the app keeps working (Escape or F6 go back).

    The progress line (events walked / total, elapsed time) shows at once and ticks every second,
    also while the replay is still preparing its models.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="learning.close"),
        Binding("f6", "close", "Back", show=False, id="learning.close_f6"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.curves: dict[str, list[tuple[int, float]]] = {}
        self.report = None
        self.total: int | None = None
        self.walked = 0
        self.started = time.monotonic()
        self._ticker = None

    def compose(self) -> ComposeResult:
        with Vertical(id="learning-box"):
            yield Static("Prequential replay (test, then learn): HR@10 over a moving window.",
                         id="learning-title")
            yield Static("starting the replay…", id="learning-progress")
            yield PlotextPlot(id="learning-plot")
            table: DataTable = DataTable(id="learning-table", cursor_type="row")
            table.add_columns("Strategy", "HR@10", "new users", "returning", "µs/event", "events")
            yield table
        yield Footer()

    def on_mount(self) -> None:
        plt = self.query_one(PlotextPlot).plt
        plt.title("moving-window HR@10")
        plt.xlabel("events replayed")
        if self.app.services.replay is None:
            self.query_one("#learning-title", Static).update("The replay is not available here.")
            self.query_one("#learning-progress", Static).update("")
            return
        self.total = self.app.services.replay_events
        self._progress()
        self._ticker = self.set_interval(1.0, self._progress, name="replay-progress")
        self.run_replay()

    def _progress(self) -> None:
        """events walked / total and the elapsed time (preparing: the models are being trained)."""
        if self.report is not None:
            return
        elapsed = time.monotonic() - self.started
        total = f"{self.total:,}" if self.total else "?"
        doing = "preparing the models (training on the first 80% by time)" if not self.walked \
            else "replaying"
        self.query_one("#learning-progress", Static).update(
            f"{self.walked:,} / {total} events walked · {doing} · {elapsed:.0f} s · Escape goes back",
            layout=False)

    @work(exit_on_error=False, exclusive=True, group="replay")
    async def run_replay(self) -> None:
        worker = get_current_worker()
        stop = self.app.stop

        def on_point(strategy: str, events: int, hr: float) -> None:
            if worker.is_cancelled or stop.is_set:  # closed or quitting: stop replaying for nobody
                raise ReplayStopped
            self.post_message(ReplayPoint(strategy, events, hr))

        report = await in_daemon(stop, "replay", self.app.services.replay, on_point)
        self.post_message(ReplayDone(report))

    def on_replay_point(self, message: ReplayPoint) -> None:
        self.curves.setdefault(message.strategy, []).append((message.events, message.hr))
        self.walked = max(self.walked, message.events)
        self._progress()
        self._draw()

    def _draw(self) -> None:
        """One marker shape per strategy, named in the legend (never colour alone)."""
        widget = self.query_one(PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        for n, (strategy, points) in enumerate(self.curves.items()):
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            plt.plot(xs, ys, label=strategy, marker=MARKERS[n % len(MARKERS)])
        widget.refresh()

    def stop_ticking(self) -> None:
        """Stop the once-a-second progress refresh (the replay ended; screenshots)."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def on_replay_done(self, message: ReplayDone) -> None:
        self.report = message.report
        self.stop_ticking()
        self.query_one("#learning-progress", Static).update(
            f"{message.report.events:,} / {message.report.events:,} events walked · done in "
            f"{time.monotonic() - self.started:.0f} s · Escape goes back", layout=False)
        table = self.query_one("#learning-table", DataTable)
        table.clear()
        for r in message.report.rows:
            table.add_row(plain(r.strategy), f"{r.hr_at_10:.3f}", f"{r.hr_new:.3f}", f"{r.hr_returning:.3f}",
                          f"{r.us_per_event:.0f}", str(r.events))
        self.query_one("#learning-title", Static).update(
            f"Prequential replay done: {message.report.events} events, HR@10 per strategy "
            "(text labels in the legend; table below).")
        self.finished("replay", message.report)

    def action_close(self) -> None:
        self.dismiss()

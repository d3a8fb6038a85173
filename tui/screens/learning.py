"""Learning view: a short prequential replay with live moving-window HR@10 curves, then a table."""

from __future__ import annotations

from typing import ClassVar

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


class ReplayStopped(Exception):
    """Raised from the replay's progress callback once the learning view has been closed."""


class LearningScreen(EngineScreen):
    """Runs the injected replay in a worker; the app keeps working (q / Escape / l go back)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="learning.close"),
        Binding("q", "close", "Back", show=False, id="learning.close_q"),
        Binding("l", "close", "Back", show=False, id="learning.close_l"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.curves: dict[str, list[tuple[int, float]]] = {}
        self.report = None

    def compose(self) -> ComposeResult:
        with Vertical(id="learning-box"):
            yield Static("Prequential replay (test, then learn): HR@10 over a moving window. Running…",
                         id="learning-title")
            yield PlotextPlot(id="learning-plot")
            table: DataTable = DataTable(id="learning-table", cursor_type="row")
            table.add_columns("Strategy", "HR@10", "new users", "returning", "µs/event", "events")
            yield table
        yield Footer()

    def on_mount(self) -> None:
        plt = self.query_one(PlotextPlot).plt
        plt.title("moving-window HR@10")
        plt.xlabel("events replayed")
        if self.app.services.replay is None:  # type: ignore[attr-defined]
            self.query_one("#learning-title", Static).update("The replay is not available here.")
            return
        self.run_replay()

    @work(thread=True, exit_on_error=False, exclusive=True, group="replay")
    def run_replay(self) -> None:
        worker = get_current_worker()

        def on_point(strategy: str, events: int, hr: float) -> None:
            if worker.is_cancelled:  # the view was closed: stop instead of replaying for nobody
                raise ReplayStopped
            self.post_message(ReplayPoint(strategy, events, hr))

        try:
            report = self.app.services.replay(on_point)  # type: ignore[attr-defined]
        except ReplayStopped:
            return
        self.post_message(ReplayDone(report))

    def on_replay_point(self, message: ReplayPoint) -> None:
        self.curves.setdefault(message.strategy, []).append((message.events, message.hr))
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

    def on_replay_done(self, message: ReplayDone) -> None:
        self.report = message.report
        table = self.query_one("#learning-table", DataTable)
        table.clear()
        for r in message.report.rows:
            table.add_row(r.strategy, f"{r.hr_at_10:.3f}", f"{r.hr_new:.3f}", f"{r.hr_returning:.3f}",
                          f"{r.us_per_event:.0f}", str(r.events))
        self.query_one("#learning-title", Static).update(
            f"Prequential replay done: {message.report.events} events, HR@10 per strategy "
            "(text labels in the legend; table below).")
        self.app.settle("replay", message.report)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        self.dismiss()

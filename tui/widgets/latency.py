"""The latency pane: the last interaction's step breakdown, session p50/p99 and a sparkline."""

from __future__ import annotations

from recsys_tui.core.results import Timings, percentile
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

STEPS = (("validate", "valid"), ("log", "log"), ("features", "feat"), ("foldin", "fold"),
         ("search", "search"), ("rerank", "rerank"))
SPARK_POINTS = 40


class LatencyPane(Vertical):
    """Engine time per step (from ``Timings``) beside the app's keypress → pane time.

    ``total`` is the engine's own time; ``key→pane`` runs from the key handler to the refreshed
    recommendation pane (engine, worker hand-off and rendering); p50/p99 are over the session.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.engine_ms: list[float] = []
        self.app_ms: list[float] = []

    def compose(self) -> ComposeResult:
        yield Static("no interaction yet:\nrate a movie with 1–5", id="latency-steps")
        yield Static("", id="latency-session")
        yield Sparkline([], id="latency-spark")

    def show_timings(self, timings: Timings, what: str) -> None:
        """The breakdown of the last engine call (``what`` goes in the pane's bottom border)."""
        cells = [f"{short:<6}{timings.steps.get(step, 0.0):5.2f}" for step, short in STEPS]
        text = Text("\n".join(" ".join(cells[n:n + 2]) for n in range(0, len(cells), 2)))
        self.query_one("#latency-steps", Static).update(text, layout=False)
        self.border_subtitle = what
        self._session(timings.total_ms, None)

    def add_sample(self, engine_ms: float, app_ms: float) -> None:
        """One measured interaction: engine total and keypress → refreshed recommendation pane."""
        self.engine_ms.append(engine_ms)
        self.app_ms.append(app_ms)
        self._session(engine_ms, app_ms)
        self.query_one("#latency-spark", Sparkline).data = self.engine_ms[-SPARK_POINTS:]

    def _session(self, engine_ms: float, app_ms: float | None) -> None:
        key = f"{app_ms:.1f}" if app_ms is not None else "-"
        text = Text()
        text.append(f"total {engine_ms:.2f} key→pane {key}", style="bold")
        if self.app_ms:
            eng, app = self.engine_ms, self.app_ms
            text.append(f"\np50 eng {percentile(eng, 50):.1f} key {percentile(app, 50):.1f}")
            text.append(f"\np99 eng {percentile(eng, 99):.1f} key {percentile(app, 99):.1f} n={len(app)}")
        self.query_one("#latency-session", Static).update(text, layout=False)

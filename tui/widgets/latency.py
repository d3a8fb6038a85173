"""The latency pane: the last interaction's step breakdown and the session's p50/p99, in ms.

Every number sits in a fixed-width column (7 cells: ``9999.99``), so labels never run into values
and the layout does not move as numbers grow; p99 is on the pane's seventh line, visible at 80×24.
The sparkline of engine times shows only where the screen is tall.
"""

from __future__ import annotations

from recsys_tui.common.text import escape_markup, plain
from recsys_tui.core.results import Timings, percentile
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

STEPS = (("validate", "valid"), ("log", "log"), ("features", "feat"), ("foldin", "fold"),
         ("search", "search"), ("rerank", "rerank"))
SPARK_POINTS = 40
LABEL = 6
NUMBER = 7


def ms(value: float | None, width: int = NUMBER) -> str:
    """Milliseconds right-aligned in ``width`` cells: two decimals up to 9999.99, then whole ms."""
    if value is None or value != value:
        return "-".rjust(width)
    return f"{value:{width}.2f}" if value < 9999.995 else f"{value:{width}.0f}"


def step_lines(timings: Timings) -> str:
    """Two steps a line: ``valid     0.05 log       2.31``."""
    cells = [f"{short:<{LABEL}}{ms(timings.steps.get(step, 0.0))}" for step, short in STEPS]
    return "\n".join(" ".join(cells[n:n + 2]) for n in range(0, len(cells), 2))


Quantiles = dict[int, tuple[float | None, float | None]]
"""p50 and p99 of (engine, key→pane) over the session."""


def quantiles(engine_ms: list[float], app_ms: list[float]) -> Quantiles:
    return {q: (percentile(engine_ms, q) if engine_ms else None, percentile(app_ms, q) if app_ms else None)
            for q in (50, 99)}


def session_lines(engine_ms: list[float], app_ms: list[float], last_engine: float,
                  last_app: float | None, known: Quantiles | None = None) -> str:
    """A header and three rows (last, p50, p99) of engine and keypress → pane times (``known``:
    the quantiles already computed for these samples)."""
    head = f"n={len(app_ms)}" if app_ms else "ms"
    rows = [f"{head:<{LABEL}}{'engine':>{NUMBER + 2}}{'key→pane':>{NUMBER + 2}}",
            f"{'last':<{LABEL}}  {ms(last_engine)}  {ms(last_app)}"]
    for q, (eng, app) in (known or quantiles(engine_ms, app_ms)).items():
        rows.append(f"{'p' + str(q):<{LABEL}}  {ms(eng)}  {ms(app)}")
    return "\n".join(rows)


class LatencyPane(Vertical):
    """Engine time per step (from ``Timings``) beside the app's keypress → pane time.

    ``engine`` is the engine's own time; ``key→pane`` runs from the key handler to the refreshed
    recommendation pane (engine, worker hand-off and rendering); p50/p99 are over the session.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.engine_ms: list[float] = []
        self.app_ms: list[float] = []
        self._quantiles: Quantiles = quantiles([], [])
        """Of the samples so far: recomputed when a sample is added, not on every redraw."""

    def compose(self) -> ComposeResult:
        yield Static("no interaction yet:\nrate a movie with 1–5", id="latency-steps")
        yield Static("", id="latency-session")
        yield Sparkline([], id="latency-spark")

    def show_timings(self, timings: Timings, what: str, session: bool = True) -> None:
        """The breakdown of the last engine call (``what`` goes in the pane's bottom border);
        ``session`` False when ``add_sample`` follows (it redraws the session lines anyway)."""
        self.query_one("#latency-steps", Static).update(Text(step_lines(timings)), layout=False)
        self.border_subtitle = escape_markup(plain(what))
        if session:
            self._session(timings.total_ms, None)

    def add_sample(self, engine_ms: float, app_ms: float) -> None:
        """One measured interaction: engine total and keypress → refreshed recommendation pane."""
        self.engine_ms.append(engine_ms)
        self.app_ms.append(app_ms)
        self._quantiles = quantiles(self.engine_ms, self.app_ms)
        self._session(engine_ms, app_ms)
        spark = self.query_one("#latency-spark", Sparkline)
        if spark.display:
            spark.data = self.engine_ms[-SPARK_POINTS:]

    def _session(self, engine_ms: float, app_ms: float | None) -> None:
        text = Text(session_lines(self.engine_ms, self.app_ms, engine_ms, app_ms, self._quantiles),
                    no_wrap=True)
        text.stylize("bold", 0, text.plain.find("\n"))
        self.query_one("#latency-session", Static).update(text, layout=False)

"""The recommendation pane: rank, change marker, title, score and reason; what dropped out.

All ten rows fit at 80×24 (the list's heading is the pane's border title, the "out:" line moves
to the bottom border). Where the screen is tall (``-tall``) every row has a second line with its
reason; otherwise the reason of the highlighted row is explained in the Movie pane.

A new list repaints only the rows whose text changed (``RecsTable``: no clear, no relayout).
"""

from __future__ import annotations

import re

from recsys_tui.common.text import escape_markup, plain
from recsys_tui.core.results import RankChange, RecList, Recommendation, score_text
from recsys_tui.tui.messages import MovieHighlighted
from recsys_tui.tui.widgets.recs_table import RecRow, RecsTable
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

_YEAR = re.compile(r" \(\d{4}\)$")


def marker(change: RankChange | None, first: bool) -> str:
    """Text marker of a rank move: ``new``, ``↑2``, ``↓1``, ``=`` (blank before any change)."""
    if change is None or first:
        return ""
    return change.label


def short_reason(reason: str) -> str:
    """The reason without its "because " prefix: the column header says it once."""
    return reason.removeprefix("because ")


def reason_line(rec: Recommendation) -> str:
    """The second line of a row: the reason with each named contributor's share (no years)."""
    if not rec.because:
        return short_reason(rec.reason)
    named = [f"{_YEAR.sub('', c.title)} {'★' + format(c.rating, 'g') if c.rating else 'viewed'} "
             f"{c.share:.0%}" for c in rec.because[:2]]
    return "rated " + ", ".join(named) if rec.because[0].rating else ", ".join(named)


class RecsPane(Vertical):
    """Top-k with markers; posts ``MovieHighlighted`` when the cursor moves onto a recommendation."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.recs: RecList | None = None
        self.changes: list[RankChange] = []
        self.two_lines = False
        self.what = ""
        """What produced the list (``· rated ★5``, ``· log-in``)."""

    def compose(self) -> ComposeResult:
        yield RecsTable(id="recs-table")
        yield Static("", id="recs-out")

    @property
    def table(self) -> RecsTable:
        return self.query_one("#recs-table", RecsTable)

    def set_two_lines(self, on: bool) -> None:
        """Two-line rows (title, then reason) when the screen is tall."""
        self.two_lines = on
        self.table.set_two_lines(on)

    def show(self, recs: RecList, changes: list[RankChange] | None = None, what: str = "") -> None:
        """Show a list; ``changes`` come from ``EventResult.changes`` (None: a fresh list)."""
        self.recs = recs
        self.changes = changes or []
        self.what = what
        by_item = {c.item_id: c for c in self.changes if c.after is not None}
        head = f"Recommendations · {'personal' if recs.personal else 'popular now'}"
        self.border_title = escape_markup(plain(f"{head} · {what}" if what else head))
        self.table.set_rows([RecRow(str(r.rank), marker(by_item.get(r.item_id), changes is None),
                                    score_text(r.score), plain(r.title), plain(reason_line(r)))
                             for r in recs.items])
        out = [c for c in self.changes if c.after is None]
        line = "" if changes is None else \
            "out: " + ("; ".join(f"{c.title} (was #{c.before})" for c in out) if out else "none")
        self.query_one("#recs-out", Static).update(Text(plain(line), no_wrap=True, overflow="ellipsis"),
                                                   layout=False)
        short = not self.screen.has_class("-tall")
        self.border_subtitle = escape_markup(plain(line)) if short and line else ""

    def selected(self) -> Recommendation | None:
        """The recommendation under the cursor."""
        table = self.table
        if self.recs is None or not self.recs.items or table.cursor_row is None:
            return None
        return self.recs.items[min(table.cursor_row, len(self.recs.items) - 1)]

    def selected_item(self) -> int | None:
        rec = self.selected()
        return rec.item_id if rec is not None else None

    def find(self, item_id: int) -> Recommendation | None:
        """The recommendation of ``item_id`` in the shown list, if it is there."""
        if self.recs is None:
            return None
        return next((r for r in self.recs.items if r.item_id == item_id), None)

    def on_recs_table_highlighted(self, event: RecsTable.Highlighted) -> None:
        event.stop()
        rec = self.selected()
        if event.table.has_focus and rec is not None:
            self.post_message(MovieHighlighted(rec.item_id))

"""The recommendation pane: rank, change marker, title, score and reason; what dropped out.

All ten rows fit at 80×24 (the list's heading is the pane's border title, the "out:" line moves
to the bottom border). Where the screen is tall (``-tall``) every row has a second line with its
reason; otherwise the reason of the highlighted row is explained in the Movie pane.

A new list updates only the cells that changed (no clear, no relayout), so a rating repaints ten
short rows at most.
"""

from __future__ import annotations

import re

from recsys_tui.common.text import escape_markup, plain
from recsys_tui.core.results import RankChange, RecList, Recommendation, score_text
from recsys_tui.tui.messages import MovieHighlighted
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

FIXED = (("rank", "#", 2), ("change", "Δ", 3), ("score", "Score", 7))
"""(key, label, width) of the fixed columns, left of the title, which takes the rest of the pane."""
CELL_PAD = 2
"""DataTable's cell padding (one column either side)."""
MIN_TITLE = 12
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


def title_cell(rec: Recommendation, two_lines: bool) -> Text:
    """The title (and, on two lines, the reason) as inert text, ellipsised to the column."""
    text = Text(plain(rec.title), no_wrap=True, overflow="ellipsis")
    if two_lines:
        text.append("\n↳ " + plain(reason_line(rec)), style="italic")
    return text


class RecsPane(Vertical):
    """Top-k with markers; posts ``MovieHighlighted`` when the cursor moves onto a recommendation."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.recs: RecList | None = None
        self.changes: list[RankChange] = []
        self.two_lines = False
        self.what = ""
        """What produced the list (``· rated ★5``, ``· log-in``): shown in the latency pane."""
        self._shown: list[tuple[str, ...]] = []

    def compose(self) -> ComposeResult:
        table: DataTable = DataTable(id="recs-table", cursor_type="row", zebra_stripes=True)
        for key, label, width in FIXED:
            table.add_column(label, key=key, width=width)
        table.add_column("Title", key="title", width=MIN_TITLE)
        yield table
        yield Static("", id="recs-out")

    @property
    def table(self) -> DataTable:
        return self.query_one("#recs-table", DataTable)

    def set_two_lines(self, on: bool) -> None:
        """Two-line rows (title, then reason) when the screen is tall; rebuilds the rows once."""
        if on == self.two_lines:
            return
        self.two_lines = on
        self.table.columns["title"].label = Text(  # type: ignore[index]
            "Title ↳ because" if on else "Title")
        self._shown = []
        if self.recs is not None:
            self.show(self.recs, self.changes or None, "", keep_title=True)

    def on_resize(self) -> None:
        self.fit_title()

    def fit_title(self) -> None:
        """Give the title column every cell the fixed columns leave."""
        table = self.table
        fixed = sum(w + CELL_PAD for _, _, w in FIXED) + CELL_PAD + 1  # +1: the scrollbar gutter
        width = max(MIN_TITLE, self.content_size.width - fixed)
        column = table.columns.get("title")  # type: ignore[call-overload]
        if column is not None and column.width != width:
            column.width = width
            table.refresh(layout=True)

    def show(self, recs: RecList, changes: list[RankChange] | None = None, what: str = "",
             keep_title: bool = False) -> None:
        """Show a list; ``changes`` come from ``EventResult.changes`` (None: a fresh list)."""
        self.recs = recs
        self.changes = changes or []
        by_item = {c.item_id: c for c in self.changes if c.after is not None}
        if not keep_title:
            kind = "personal" if recs.personal else "popular now"
            self.border_title = f"Recommendations · {kind}"
            self.what = what
        rows = [(str(r.rank), marker(by_item.get(r.item_id), changes is None), score_text(r.score),
                 r.title, r.reason) for r in recs.items]
        self._paint(recs, rows)
        out = [c for c in self.changes if c.after is None]
        line = "" if changes is None else \
            "out: " + ("; ".join(f"{c.title} (was #{c.before})" for c in out) if out else "none")
        self.query_one("#recs-out", Static).update(Text(plain(line), no_wrap=True, overflow="ellipsis"),
                                                   layout=False)
        short = not self.screen.has_class("-tall")
        self.border_subtitle = escape_markup(plain(line)) if short and line else ""

    def _paint(self, recs: RecList, rows: list[tuple[str, ...]]) -> None:
        """Update the cells that changed; rebuild only when the number of rows changes."""
        table = self.table
        if len(rows) != len(self._shown) or table.row_count != len(rows):
            row = table.cursor_row
            table.clear()
            height = 2 if self.two_lines else 1
            for n, (r, values) in enumerate(zip(recs.items, rows, strict=True)):
                table.add_row(*values[:3], title_cell(r, self.two_lines), key=str(n), height=height)
            if rows:
                table.move_cursor(row=min(row or 0, len(rows) - 1), animate=False)
        else:
            for n, (r, new, old) in enumerate(zip(recs.items, rows, self._shown, strict=True)):
                for col in range(3):
                    if new[col] != old[col]:
                        table.update_cell_at(Coordinate(n, col), new[col])
                if new[3:] != old[3:]:
                    table.update_cell_at(Coordinate(n, 3), title_cell(r, self.two_lines))
        self._shown = rows

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

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "recs-table":
            return
        event.stop()
        rec = self.selected()
        if event.data_table.has_focus and rec is not None:
            self.post_message(MovieHighlighted(rec.item_id))

"""The recommendation pane: rank, change marker, title, score and reason; what dropped out."""

from __future__ import annotations

from recsys_tui.core.results import RankChange, RecList
from recsys_tui.tui.messages import MovieHighlighted
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static


def marker(change: RankChange | None, first: bool) -> str:
    """Text marker of a rank move: ``new``, ``↑2``, ``↓1``, ``=`` (blank before any change)."""
    if change is None or first:
        return ""
    return change.label


def short_reason(reason: str) -> str:
    """The reason without its "because " prefix: the column header says it once."""
    return reason.removeprefix("because ")


class RecsPane(Vertical):
    """Top-k with markers; posts ``MovieHighlighted`` when the cursor moves onto a recommendation."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.recs: RecList | None = None
        self.changes: list[RankChange] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="recs-head")
        table: DataTable = DataTable(id="recs-table", cursor_type="row", zebra_stripes=True)
        table.add_column("#", key="rank", width=2)
        table.add_column("Δ", key="change", width=3)
        table.add_column("Title", key="title", width=28)
        table.add_column("Score", key="score", width=5)
        table.add_column("Because", key="reason")
        yield table
        yield Static("", id="recs-out")

    def show(self, recs: RecList, changes: list[RankChange] | None = None, what: str = "") -> None:
        """Replace the list; ``changes`` come from ``EventResult.changes`` (None: a fresh list)."""
        self.recs = recs
        self.changes = changes or []
        by_item = {c.item_id: c for c in self.changes if c.after is not None}
        kind = "personal" if recs.personal else "popular (cold start)"
        self.query_one("#recs-head", Static).update(
            f"{kind} · {recs.model_version} {what}".rstrip(), layout=False)
        table = self.query_one("#recs-table", DataTable)
        row = table.cursor_row
        table.clear()
        for r in recs.items:
            table.add_row(str(r.rank), marker(by_item.get(r.item_id), changes is None), r.title,
                          f"{r.score:.3f}" if abs(r.score) < 10 else f"{r.score:.0f}", short_reason(r.reason),
                          key=str(r.item_id))
        if recs.items:
            table.move_cursor(row=min(row or 0, len(recs.items) - 1), animate=False)
        out = [c for c in self.changes if c.after is None]
        if changes is None:
            self.query_one("#recs-out", Static).update("", layout=False)
        elif out:
            self.query_one("#recs-out", Static).update(
                "out: " + "; ".join(f"{c.title} (was #{c.before})" for c in out), layout=False)
        else:
            self.query_one("#recs-out", Static).update("out: none", layout=False)

    def selected_item(self) -> int | None:
        table = self.query_one("#recs-table", DataTable)
        if self.recs is None or not self.recs.items or table.cursor_row is None:
            return None
        return self.recs.items[min(table.cursor_row, len(self.recs.items) - 1)].item_id

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "recs-table" or event.row_key.value is None:
            return
        event.stop()
        if event.data_table.has_focus:
            self.post_message(MovieHighlighted(int(event.row_key.value)))

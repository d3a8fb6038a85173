"""The catalogue pane: search-as-you-type by title, genre filter, sortable table of movies."""

from __future__ import annotations

from recsys_tui.core.results import MovieRow
from recsys_tui.tui.messages import MovieHighlighted
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

COLUMNS = (("title", "Title", 30), ("yours", "You", 3), ("avg", "Avg", 4), ("n", "#Rat", 4),
           ("year", "Year", 4), ("genres", "Genres", None))
"""(key, label, width): title first, then the numbers, so 80 columns show what matters."""


def stars(value: float | None) -> str:
    """A rating as text (``★4``), or ``-`` when there is none."""
    return f"★{value:g}" if value is not None else "-"


def _sort_value(row: MovieRow, column: str) -> tuple:
    value = {"title": row.title.lower(), "year": row.year, "genres": ",".join(row.genres),
             "avg": row.avg_rating, "n": row.n_ratings, "yours": row.your_rating}[column]
    return (value is None, value if value is not None else 0)


class CataloguePane(Vertical):
    """Search box, filter line and the movie table; posts ``MovieHighlighted`` as the cursor moves."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[int, MovieRow] = {}
        self.order: list[int] = []
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.label = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search titles (/)", id="search")
        yield Static("", id="catalogue-filter")
        table: DataTable = DataTable(id="catalogue-table", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table

    @property
    def table(self) -> DataTable:
        return self.query_one("#catalogue-table", DataTable)

    def show_rows(self, rows: list[MovieRow], label: str) -> None:
        """Replace the table's contents, keep the sort order, put the cursor on the first row."""
        self.rows = {r.item_id: r for r in rows}
        self.order = [r.item_id for r in rows]
        self.label = label
        if self.sort_column:
            column = self.sort_column
            self.order.sort(key=lambda i: _sort_value(self.rows[i], column), reverse=self.sort_reverse)
        self._show_label()
        self._fill()

    def _show_label(self) -> None:
        sort = f" · sorted by {self.sort_column}{' ↓' if self.sort_reverse else ' ↑'}" if self.sort_column \
            else ""
        count = f"{len(self.rows)} movie{'' if len(self.rows) == 1 else 's'}"
        self.query_one("#catalogue-filter", Static).update(f"{self.label} · {count}{sort}", layout=False)

    def _fill(self) -> None:
        table = self.table
        table.clear()
        for item in self.order:
            r = self.rows[item]
            table.add_row(r.title, stars(r.your_rating), f"{r.avg_rating:.2f}", str(r.n_ratings),
                          str(r.year or ""), ", ".join(r.genres), key=str(item))
        if self.order:
            table.move_cursor(row=0)

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; choosing the same column again reverses the order."""
        same = column == self.sort_column
        self.sort_reverse = not self.sort_reverse if same else column in ("avg", "n", "yours")
        self.sort_column = column
        current = self.selected_item()
        self.order.sort(key=lambda i: _sort_value(self.rows[i], column), reverse=self.sort_reverse)
        self._show_label()
        self._fill()
        if current in self.rows:
            self.select(current)

    def update_row(self, row: MovieRow) -> None:
        """Refresh one movie's cells (e.g. after it was rated)."""
        if row.item_id not in self.rows:
            return
        self.rows[row.item_id] = row
        self.table.update_cell(str(row.item_id), "yours", stars(row.your_rating))

    def selected_item(self) -> int | None:
        table = self.table
        if not self.order or table.cursor_row is None or table.cursor_row >= len(self.order):
            return None
        return self.order[table.cursor_row]

    def select(self, item_id: int) -> bool:
        """Move the cursor to ``item_id``; False when it is not in the table."""
        if item_id not in self.rows:
            return False
        self.table.move_cursor(row=self.order.index(item_id))
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "catalogue-table" or event.row_key.value is None:
            return
        event.stop()
        if event.cursor_row != self.table.cursor_row:
            return  # stale: the cursor has moved again (e.g. a refill, then a select) since
        item = int(event.row_key.value)
        self.post_message(MovieHighlighted(item, self.rows.get(item)))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

"""The catalogue pane: search-as-you-type by title, genre filter, a virtual table of every match.

The table (``MovieTable``) holds every match, all 1,682 movies or 59k, and renders only the
visible rows; taking a result costs the same whatever its size (``MovieRows``: the engine's list
as it is, looked up by id only when something asks); the filter line gives the true count.
Sorting sorts every match; rows without a value (movies you have not rated, when sorting by
"yours") go last in both directions.
"""

from __future__ import annotations

from recsys_tui.common.text import plain
from recsys_tui.core.results import MovieRow
from recsys_tui.tui.messages import MovieHighlighted
from recsys_tui.tui.widgets.movie_rows import ItemIds, MovieRows
from recsys_tui.tui.widgets.movie_table import COLUMNS as TABLE_COLUMNS
from recsys_tui.tui.widgets.movie_table import MovieTable, stars
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

__all__ = ["COLUMNS", "CataloguePane", "stars"]

COLUMNS = tuple((c.key, c.label, None) for c in TABLE_COLUMNS)
"""(key, label, width) of the sortable columns, in the order ``s`` cycles through them."""
SORT_NAMES = {"title": "title", "yours": "yours", "avg": "avg", "n": "#R", "year": "year",
              "genres": "genres"}


class CataloguePane(Vertical):
    """Search box, filter line and the movie table; posts ``MovieHighlighted`` as the cursor moves."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = MovieRows([])
        """The shown rows in display order; also a mapping item id → row."""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.label = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search titles (/)", id="search")
        yield Static("", id="catalogue-filter")
        yield MovieTable(id="catalogue-table")

    @property
    def table(self) -> MovieTable:
        return self.query_one("#catalogue-table", MovieTable)

    @property
    def order(self) -> ItemIds:
        """The shown item ids in display order."""
        return self.rows.ids

    def show_rows(self, rows: list[MovieRow], label: str) -> None:
        """Show every row, keep the sort order, put the cursor on the first row."""
        shown = MovieRows.of(rows)  # no per-row work: a search can return all 59k titles of ML-25M
        if self.sort_column:
            shown = shown.sorted(self.sort_column, self.sort_reverse)
        self.rows = shown
        self.label = label
        self._show_label()
        self.table.set_rows(shown)

    def _show_label(self) -> None:
        n = len(self.rows)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{n:,} movie{'' if n == 1 else 's'}")  # the count and the sort first: they fit
        if self.sort_column:
            text.append(f" · sorted by {SORT_NAMES[self.sort_column]} {'↓' if self.sort_reverse else '↑'}")
        text.append(" · " + plain(self.label))
        self.query_one("#catalogue-filter", Static).update(text, layout=False)

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; choosing the same column again reverses the order."""
        same = column == self.sort_column
        self.sort_reverse = not self.sort_reverse if same else column in ("avg", "n", "yours")
        self.sort_column = column
        current = self.selected_item()
        self.rows = self.rows.sorted(column, self.sort_reverse)
        self._show_label()
        index = self.rows.position(current)
        self.table.set_rows(self.rows, index or 0)

    def update_row(self, row: MovieRow) -> None:
        """Refresh one movie's cells (e.g. after it was rated)."""
        self.table.update_row(row)  # the table and this pane share one ``MovieRows``

    def selected_item(self) -> int | None:
        return self.table.item_at(self.table.cursor_row)

    def select(self, item_id: int) -> bool:
        """Move the cursor to ``item_id``; False when it is not in the table."""
        index = self.rows.position(item_id)
        if index is None:
            return False
        self.table.set_cursor(index)
        return True

    def on_movie_table_highlighted(self, event: MovieTable.Highlighted) -> None:
        event.stop()
        if event.index != self.table.cursor_row:
            return  # stale: the cursor has moved again since
        row = self.rows.at(event.index) if event.index < len(self.rows) else None
        known = row if row is not None and row.item_id == event.item_id else None
        self.post_message(MovieHighlighted(event.item_id, known))

    def on_movie_table_header_clicked(self, event: MovieTable.HeaderClicked) -> None:
        event.stop()
        self.sort_by(event.column)

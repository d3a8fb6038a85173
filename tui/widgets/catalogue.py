"""The catalogue pane: search-as-you-type by title, genre filter, a virtual table of every match.

The table (``MovieTable``) holds every match, all 1,682 movies or many more, and renders only the
visible rows; the filter line gives the true count. Sorting sorts every match; rows without a value
(movies you have not rated, when sorting by "yours") go last in both directions.
"""

from __future__ import annotations

from operator import attrgetter

from recsys_tui.common.text import plain
from recsys_tui.core.results import MovieRow
from recsys_tui.tui.messages import MovieHighlighted
from recsys_tui.tui.widgets.movie_table import COLUMNS as TABLE_COLUMNS
from recsys_tui.tui.widgets.movie_table import MovieTable, sorted_ids, stars
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
        self.rows: dict[int, MovieRow] = {}
        self.order: list[int] = []
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

    def show_rows(self, rows: list[MovieRow], label: str) -> None:
        """Show every row, keep the sort order, put the cursor on the first row."""
        # C-level passes (``map``, ``zip``): a search can return all 59k titles of ML-25M
        self.order = list(map(attrgetter("item_id"), rows))
        self.rows = dict(zip(self.order, rows, strict=True))
        self.label = label
        if self.sort_column:
            self.order = sorted_ids(self.rows, self.order, self.sort_column, self.sort_reverse)
        self._show_label()
        self.table.set_rows(self.rows, self.order)

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
        self.order = sorted_ids(self.rows, self.order, column, self.sort_reverse)
        self._show_label()
        index = self.order.index(current) if current in self.rows else 0
        self.table.set_rows(self.rows, self.order, index)

    def update_row(self, row: MovieRow) -> None:
        """Refresh one movie's cells (e.g. after it was rated)."""
        if row.item_id not in self.rows:
            return
        self.rows[row.item_id] = row
        self.table.update_row(row)

    def selected_item(self) -> int | None:
        return self.table.item_at(self.table.cursor_row)

    def select(self, item_id: int) -> bool:
        """Move the cursor to ``item_id``; False when it is not in the table."""
        if item_id not in self.rows:
            return False
        self.table.set_cursor(self.order.index(item_id))
        return True

    def on_movie_table_highlighted(self, event: MovieTable.Highlighted) -> None:
        event.stop()
        if event.index != self.table.cursor_row:
            return  # stale: the cursor has moved again since
        self.post_message(MovieHighlighted(event.item_id, self.rows.get(event.item_id)))

    def on_movie_table_header_clicked(self, event: MovieTable.HeaderClicked) -> None:
        event.stop()
        self.sort_by(event.column)

"""A virtual table of movies: renders only the rows on screen, so it holds any number of matches.

A new search result or sort swaps one ``MovieRows`` (the engine's list as it is: no widget, dict
or id list per row on the UI thread); ``render_line`` formats the handful of visible rows. Column
widths come from the data (a count of 583 ratings gets three cells, never "58"); the title and
genres columns share what is left. Outside text is shown through ``recsys_tui.common.text.plain``
as ``Text``, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from recsys_tui.common.text import plain
from recsys_tui.core.results import MovieRow
from recsys_tui.tui.widgets.line_table import CURSOR_KEYS, PAGE_KEYS, LineTable, table_classes, table_css
from recsys_tui.tui.widgets.lines import fit, strip
from recsys_tui.tui.widgets.movie_rows import ItemIds, MovieRows
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip


def stars(value: float | None) -> str:
    """A rating as text (``★4``), or ``-`` when there is none."""
    return f"★{value:g}" if value is not None else "-"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    align: str  # "left" or "right"


COLUMNS = (Column("title", "Title", "left"), Column("yours", "You", "right"),
           Column("avg", "Avg", "right"), Column("n", "#R", "right"), Column("year", "Year", "right"),
           Column("genres", "Genres", "left"))
"""Title first, then the numbers, so 80 columns show what matters; genres take what is left."""
MIN_TITLE = 14
MIN_GENRES = 8


def cell(row: MovieRow, key: str) -> str:
    """The text of one cell (outside text cleaned to one safe line)."""
    if key == "title":
        return plain(row.title)
    if key == "yours":
        return stars(row.your_rating)
    if key == "avg":
        return f"{row.avg_rating:.2f}"
    if key == "n":
        return str(row.n_ratings)
    if key == "year":
        return str(row.year or "")
    return plain(", ".join(row.genres))


class MovieTable(LineTable):
    """Header line plus one line per movie; a row cursor; click a header to sort by it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *CURSOR_KEYS, *PAGE_KEYS, Binding("enter", "select_row", "Select", show=False)]
    PREFIX = "movie-table"
    DEFAULT_CSS = table_css("MovieTable", PREFIX)
    COMPONENT_CLASSES: ClassVar[set[str]] = table_classes(PREFIX)

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False)

    class Highlighted(Message):
        """The cursor moved onto the row ``index`` (movie ``item_id``)."""

        def __init__(self, table: MovieTable, index: int, item_id: int) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.item_id = item_id

        @property
        def control(self) -> MovieTable:
            return self.table

    class HeaderClicked(Message):
        """A column header was clicked (sort by ``column``)."""

        def __init__(self, table: MovieTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    class Selected(Message):
        """Enter on row ``index`` (a list's "open": the screen decides what it does)."""

        def __init__(self, table: MovieTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> MovieTable:
            return self.table

    def action_select_row(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self.cursor_row))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = MovieRows([])
        self._widths: dict[str, int] = {}
        self._strips: dict[tuple[int, str], Strip] = {}
        """Rendered rows by (item id, look); only rows that change are rendered again."""

    # -- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def order(self) -> ItemIds:
        """The item ids in display order (read through to the rows)."""
        return self.rows.ids

    def _yours(self) -> int:
        """Cells of the "You" column: ``★4`` and ``-`` need 3, a half star (``★3.5``) 4."""
        return max([3, *(len(stars(v)) for v in self.rows.rated)])

    def set_rows(self, rows: MovieRows, cursor: int = 0) -> None:
        """Show ``rows``; O(1) on the UI side whatever the number of rows."""
        self.rows = rows
        self._widths = {}
        self._strips.clear()
        self.virtual_size = Size(0, len(rows) + 1)
        self.set_cursor(min(max(cursor, 0), max(len(rows) - 1, 0)), force=True)
        self.refresh()

    def update_row(self, row: MovieRow) -> None:
        """Replace one movie's row (e.g. after it was rated) and repaint its line if visible."""
        yours, widest = self._yours(), self.rows.max_count
        if not self.rows.put(row):
            return
        if self._yours() != yours or self.rows.max_count != widest:  # e.g. a first half star
            self._widths = {}
            self._strips.clear()
            self.refresh()
            return
        for key in [k for k in self._strips if k[0] == row.item_id]:
            del self._strips[key]
        self._refresh_index(self.order.index(row.item_id))

    def _refresh_index(self, index: int) -> None:
        """Repaint the line of row ``index`` (nothing when it is scrolled out of view)."""
        self.refresh_line(index + 1)  # the header is virtual line 0

    def item_at(self, index: int | None) -> int | None:
        if index is None or not 0 <= index < len(self.rows):
            return None
        return self.rows.at(index).item_id

    # -- cursor ----------------------------------------------------------------------------------

    def set_cursor(self, index: int, force: bool = False) -> None:
        """Move the cursor to ``index``, scroll it into view, post ``Highlighted``."""
        if not len(self.rows):
            self.cursor_row = 0
            return
        index = min(max(index, 0), len(self.rows) - 1)
        if index == self.cursor_row and not force:
            return
        old, top = self.cursor_row, self.scroll_y
        self.cursor_row = index
        self._scroll_to_cursor()
        if force or self.scroll_y != top:
            self.refresh()
        else:
            self._refresh_index(old)
            self._refresh_index(index)
        self.post_message(self.Highlighted(self, index, self.rows.at(index).item_id))

    def move_cursor(self, row: int, animate: bool = False) -> None:
        """DataTable's signature (``animate`` is ignored: the cursor never animates)."""
        self.set_cursor(row)

    def _scroll_to_cursor(self) -> None:
        self._keep_in_view(self.cursor_row, self.cursor_row)

    def action_cursor(self, step: int) -> None:
        self.set_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.set_cursor(self.cursor_row + direction * self._page_rows())

    def action_edge(self, end: int) -> None:
        self.set_cursor(len(self.rows) - 1 if end else 0)

    def on_click(self, event: Click) -> None:
        y = event.y
        if y == 0:
            column = self._column_at(event.x)
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        self.set_cursor(int(self.scroll_y) + y - 1)

    def on_focus(self) -> None:
        self._refresh_index(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_index(self.cursor_row)

    # -- layout and rendering --------------------------------------------------------------------

    def _forget_drawn(self) -> None:
        self._strips.clear()

    def on_resize(self) -> None:
        self._widths = {}
        self._strips.clear()
        self.virtual_size = Size(0, len(self.rows) + 1)

    def widths(self) -> dict[str, int]:
        """Cells per column: numbers as wide as their largest value, title and genres share the rest."""
        if self._widths:
            return self._widths
        fixed = {"yours": self._yours(), "avg": 4, "n": max(2, len(str(self.rows.max_count))), "year": 4}
        rest = max(self.scrollable_content_region.width - sum(fixed.values()) - len(COLUMNS), 0)
        title = max(MIN_TITLE, min(40, rest * 3 // 5))
        if rest - title < MIN_GENRES:  # no room for a useful genres column: the title takes it all
            title = max(MIN_TITLE, rest)
        self._widths = {"title": title, **fixed, "genres": max(rest - title, 0)}
        return self._widths

    def _column_at(self, x: int) -> str | None:
        pos = 0
        for column in COLUMNS:
            width = self.widths()[column.key] + 1
            if pos <= x < pos + width:
                return column.key
            pos += width
        return None

    def _line(self, texts: dict[str, str], style: Style) -> Strip:
        widths = self.widths()
        line = " ".join(fit(texts[c.key], widths[c.key], c.align) for c in COLUMNS if widths[c.key] > 0)
        return strip(line, self.scrollable_content_region.width, style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            style = self._style("movie-table--header")
            return self._line({c.key: c.label for c in COLUMNS}, style)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return strip("", width, self._style(""))
        row = self.rows.at(index)
        look = self._row_look(index, self.cursor_row)
        cached = self._strips.get((row.item_id, look))
        if cached is None:
            cached = self._line({c.key: cell(row, c.key) for c in COLUMNS}, self._style(look))
            self._strips[(row.item_id, look)] = cached
        return cached

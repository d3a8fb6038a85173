"""A virtual table of movies: renders only the rows on screen, so it holds any number of matches.

A new search result or sort swaps a list of ids (no widget per row, no per-row work on the UI
thread); ``render_line`` formats the handful of visible rows. Column widths come from the data
(a count of 583 ratings gets three cells, never "58"); the title and genres columns share what is
left. Outside text is shown through ``recsys_tui.common.text.plain`` as ``Text``, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import ClassVar

from recsys_tui.common.text import plain
from recsys_tui.core.results import MovieRow
from recsys_tui.tui.widgets.line_table import CURSOR_KEYS, PAGE_KEYS, LineTable, table_classes, table_css
from recsys_tui.tui.widgets.lines import fit, strip
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


def sort_key(row: MovieRow, column: str) -> tuple:
    """Sort key of ``row`` by ``column``; rows without a value (unrated, no year) are marked."""
    value = {"title": row.title.casefold(), "year": row.year, "genres": ",".join(row.genres),
             "avg": row.avg_rating, "n": row.n_ratings, "yours": row.your_rating}[column]
    return (value is None, value if value is not None else 0)


def sorted_ids(rows: dict[int, MovieRow], order: list[int], column: str, reverse: bool) -> list[int]:
    """``order`` sorted by ``column``; rows without a value go last in both directions."""
    have = [i for i in order if sort_key(rows[i], column)[0] is False]
    missing = [i for i in order if sort_key(rows[i], column)[0] is True]
    have.sort(key=lambda i: sort_key(rows[i], column)[1], reverse=reverse)
    return have + missing


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
        self.rows: dict[int, MovieRow] = {}
        self.order: list[int] = []
        self._widths: dict[str, int] = {}
        self._max_n = 0
        self._yours = 3
        """Cells of the "You" column: ``★4`` and ``-`` need 3, a half star (``★3.5``) 4."""
        self._strips: dict[tuple[int, str], Strip] = {}
        """Rendered rows by (item id, look); only rows that change are rendered again."""

    # -- data ------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    def set_rows(self, rows: dict[int, MovieRow], order: list[int], cursor: int = 0) -> None:
        """Show ``order`` (ids into ``rows``); O(1) on the UI side whatever the number of rows."""
        self.rows = rows
        self.order = order
        self._max_n = max(map(attrgetter("n_ratings"), rows.values()), default=0)
        rated = set(map(attrgetter("your_rating"), rows.values()))  # few distinct values
        self._yours = max([3, *(len(stars(v)) for v in rated if v is not None)])
        self._widths = {}
        self._strips.clear()
        self.virtual_size = Size(0, len(order) + 1)
        self.set_cursor(min(max(cursor, 0), max(len(order) - 1, 0)), force=True)
        self.refresh()

    def update_row(self, row: MovieRow) -> None:
        """Replace one movie's row (e.g. after it was rated) and repaint its line if visible."""
        if row.item_id not in self.rows:
            return
        self.rows[row.item_id] = row
        if len(stars(row.your_rating)) > self._yours:  # a first half star: the column grows
            self._yours = len(stars(row.your_rating))
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
        if index is None or not 0 <= index < len(self.order):
            return None
        return self.order[index]

    # -- cursor ----------------------------------------------------------------------------------

    def set_cursor(self, index: int, force: bool = False) -> None:
        """Move the cursor to ``index``, scroll it into view, post ``Highlighted``."""
        if not self.order:
            self.cursor_row = 0
            return
        index = min(max(index, 0), len(self.order) - 1)
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
        self.post_message(self.Highlighted(self, index, self.order[index]))

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
        self.set_cursor(len(self.order) - 1 if end else 0)

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
        self.virtual_size = Size(0, len(self.order) + 1)

    def widths(self) -> dict[str, int]:
        """Cells per column: numbers as wide as their largest value, title and genres share the rest."""
        if self._widths:
            return self._widths
        fixed = {"yours": self._yours, "avg": 4, "n": max(2, len(str(self._max_n))), "year": 4}
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
        if index >= len(self.order):
            return strip("", width, self._style(""))
        item = self.order[index]
        look = self._row_look(index, self.cursor_row)
        cached = self._strips.get((item, look))
        if cached is None:
            cached = self._line({c.key: cell(self.rows[item], c.key) for c in COLUMNS}, self._style(look))
            self._strips[(item, look)] = cached
        return cached

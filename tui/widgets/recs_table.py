"""The recommendation list as a line-API table: only rows whose text changed are drawn again.

Each row is one line (rank, change, score, title) or two (the reason below the title, where the
screen is tall). A rating changes the scores of most rows, so drawing must be cheap: a row is one
string in one style (``lines.strip``), cached by its content and look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from recsys_tui.tui.widgets.line_table import CURSOR_KEYS, LineTable, table_classes, table_css
from recsys_tui.tui.widgets.lines import fit, strip
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

FIXED = (("rank", "#", 2, "right"), ("change", "Δ", 3, "left"), ("score", "Score", 7, "right"))
"""(key, label, width, align) of the columns left of the title, which takes the rest."""


@dataclass(frozen=True)
class RecRow:
    """What one row shows (already safe text): rank, change marker, score, title, reason line."""

    rank: str
    change: str
    score: str
    title: str
    reason: str


class RecsTable(LineTable):
    """Header plus one or two lines per recommendation; a row cursor; ``Highlighted`` on moves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *CURSOR_KEYS, Binding("enter", "select_row", "Select", show=False)]
    PREFIX = "recs-table"
    DEFAULT_CSS = table_css("RecsTable", PREFIX,
                            "RecsTable > .recs-table--reason { color: $text-muted; text-style: italic; }")
    COMPONENT_CLASSES: ClassVar[set[str]] = table_classes(PREFIX, "reason")

    class Highlighted(Message):
        """The cursor moved onto row ``index``."""

        def __init__(self, table: RecsTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> RecsTable:
            return self.table

    class Selected(Message):
        """Enter on row ``index`` (a list's "open": the screen decides what it does)."""

        def __init__(self, table: RecsTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> RecsTable:
            return self.table

    def action_select_row(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self.cursor_row))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[RecRow] = []
        self.cursor_row = 0
        self.two_lines = False
        self._strips: dict[tuple, Strip] = {}

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def height_per_row(self) -> int:
        return 2 if self.two_lines else 1

    def set_two_lines(self, on: bool) -> None:
        if on != self.two_lines:
            self.two_lines = on
            self._strips.clear()
            self._resize()
            self.refresh()

    def set_rows(self, rows: list[RecRow]) -> None:
        """Show ``rows``; only the rows that differ from those shown are repainted."""
        old = self.rows
        self.rows = rows
        if len(rows) != len(old):
            self._resize()
            self.cursor_row = min(self.cursor_row, max(len(rows) - 1, 0))
            self.refresh()
            return
        h = self.height_per_row
        for n, (new, before) in enumerate(zip(rows, old, strict=True)):
            if new != before:
                self.refresh_lines(1 + n * h, h)

    def _resize(self) -> None:
        self.virtual_size = Size(0, 1 + len(self.rows) * self.height_per_row)

    # -- cursor ----------------------------------------------------------------------------------

    def move_cursor(self, row: int, animate: bool = False) -> None:
        """Put the cursor on ``row`` (``animate`` is accepted for DataTable's signature; never animates)."""
        if not self.rows:
            return
        row = min(max(row, 0), len(self.rows) - 1)
        if row == self.cursor_row:
            return
        h, old = self.height_per_row, self.cursor_row
        self.cursor_row = row
        self.refresh_lines(1 + old * h, h)
        self.refresh_lines(1 + row * h, h)
        self.scroll_to_region_of(row)
        self.post_message(self.Highlighted(self, row))

    def scroll_to_region_of(self, row: int) -> None:
        h = self.height_per_row
        self._keep_in_view(row * h, row * h + h - 1)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self.rows) - 1 if end else 0)

    def on_click(self, event: Click) -> None:
        if event.y >= 1:
            self.move_cursor((int(self.scroll_y) + event.y - 1) // self.height_per_row)

    def on_focus(self) -> None:
        self.refresh_lines(1 + self.cursor_row * self.height_per_row, self.height_per_row)

    def on_blur(self) -> None:
        self.on_focus()

    def _forget_drawn(self) -> None:
        self._strips.clear()

    def on_resize(self) -> None:
        self._strips.clear()
        self._resize()

    # -- rendering -------------------------------------------------------------------------------

    def _title_width(self, width: int) -> int:
        return max(width - sum(w + 1 for _, _, w, _ in FIXED) - 1, 4)

    def _text(self, row: RecRow, line: int, width: int) -> str:
        fixed = (row.rank, row.change, row.score)
        if line == 0:
            cells = [fit(v, w, align) for v, (_, _, w, align) in zip(fixed, FIXED, strict=True)]
            return " " + " ".join([*cells, fit(row.title, self._title_width(width))])
        indent = " " * (1 + sum(w + 1 for _, _, w, _ in FIXED))
        return indent + fit("↳ " + row.reason, self._title_width(width))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            head = " " + " ".join([*(fit(label, w, align) for _, label, w, align in FIXED), "Title"])
            if self.two_lines:
                head += " ↳ because"
            return strip(head, width, self._style("recs-table--header"))
        h = self.height_per_row
        virtual = int(self.scroll_y) + y - 1
        index, line = divmod(virtual, h)
        if index >= len(self.rows):
            return strip("", width, self._style(""))
        row = self.rows[index]
        look = self._row_look(index, self.cursor_row)
        key = (row, line, look, width)
        cached = self._strips.get(key)
        if cached is None:
            style = self._style(look)
            if line and look != "recs-table--cursor":
                style += self._style("recs-table--reason")
            cached = strip(self._text(row, line, width), width, style)
            if len(self._strips) > 400:
                self._strips.clear()
            self._strips[key] = cached
        return cached

"""The login table: a virtual table of users that renders only the rows on screen.

ML-25M has 162,541 users: building a row object per user at start-up (``DataTable``) took seconds,
so the table holds the list of ``UserSummary`` and ``render_line`` formats the visible lines
(``lines.strip``). Filtering swaps the list. Outside text (occupation, genres) is shown through
``recsys_tui.common.text.plain``, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import plain
from recsys_tui.core.results import UserSummary
from recsys_tui.tui.widgets.line_table import CURSOR_KEYS, PAGE_KEYS, LineTable, table_classes, table_css
from recsys_tui.tui.widgets.lines import fit, strip
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

COLUMNS = (("User", 7, "right"), ("Age", 3, "right"), ("Sex", 3, "left"), ("Occupation", 13, "left"),
           ("#Ratings", 8, "right"), ("Favourite genres", 0, "left"))
"""(label, width, align); fixed widths, so the table looks the same whatever rows it holds; the
genres take what is left."""


def cells(u: UserSummary) -> tuple[str, ...]:
    """The texts of one user's row (outside text cleaned to one safe line)."""
    genres = ", ".join(u.top_genres) or ("new" if u.new else "-")
    return (str(u.user_id), str(u.age or "-"), plain(u.gender or "-"), plain(u.occupation or "-"),
            f"{u.n_ratings:,}", plain(genres))


class UserTable(LineTable):
    """Header plus one line per user; a row cursor; Enter posts ``Selected``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *CURSOR_KEYS, *PAGE_KEYS, Binding("enter", "select_row", "Log in", show=False)]
    PREFIX = "user-table"
    DEFAULT_CSS = table_css("UserTable", PREFIX)
    COMPONENT_CLASSES: ClassVar[set[str]] = table_classes(PREFIX)

    class Selected(Message):
        """Enter on the row of ``user_id``."""

        def __init__(self, table: UserTable, user_id: int) -> None:
            super().__init__()
            self.table = table
            self.user_id = user_id

        @property
        def control(self) -> UserTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.users: list[UserSummary] = []
        self.cursor_row = 0

    @property
    def row_count(self) -> int:
        return len(self.users)

    def set_users(self, users: list[UserSummary], cursor: int = 0) -> None:
        """Show ``users`` (O(1) here whatever their number: only visible lines are formatted)."""
        self.users = users
        self.virtual_size = Size(0, len(users) + 1)
        self.cursor_row = min(max(cursor, 0), max(len(users) - 1, 0))
        self._scroll_to_cursor()
        self.refresh()

    def user_at(self, index: int) -> int | None:
        """The user id of row ``index``, or None."""
        return self.users[index].user_id if 0 <= index < len(self.users) else None

    def cells_at(self, index: int) -> tuple[str, ...]:
        """The texts row ``index`` shows."""
        return cells(self.users[index])

    # -- cursor ----------------------------------------------------------------------------------

    def move_cursor(self, row: int, animate: bool = False) -> None:
        """Put the cursor on ``row`` (``animate``: DataTable's signature; it never animates)."""
        if not self.users:
            return
        old, top = self.cursor_row, self.scroll_y
        self.cursor_row = min(max(row, 0), len(self.users) - 1)
        self._scroll_to_cursor()
        if self.scroll_y != top:
            self.refresh()
        else:
            self.refresh_line(old + 1)  # virtual lines: the header is line 0
            self.refresh_line(self.cursor_row + 1)

    def _scroll_to_cursor(self) -> None:
        self._keep_in_view(self.cursor_row, self.cursor_row)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * self._page_rows())

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self.users) - 1 if end else 0)

    def action_select_row(self) -> None:
        user = self.user_at(self.cursor_row)
        if user is not None:
            self.post_message(self.Selected(self, user))

    def on_click(self, event: Click) -> None:
        if event.y >= 1:
            self.move_cursor(int(self.scroll_y) + event.y - 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # -- rendering -------------------------------------------------------------------------------

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.users) + 1)

    def _line(self, texts: tuple[str, ...], width: int) -> str:
        fixed = sum(w + 1 for _, w, _ in COLUMNS[:-1])
        parts = [fit(t, w or max(width - fixed - 1, 0), align)
                 for t, (_, w, align) in zip(texts, COLUMNS, strict=True)]
        return " " + " ".join(parts)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return strip(self._line(tuple(label for label, _, _ in COLUMNS), width), width,
                         self._style("user-table--header"))
        index = int(self.scroll_y) + y - 1
        if index >= len(self.users):
            return strip("", width, self._style(""))
        look = self._row_look(index, self.cursor_row)
        return strip(self._line(cells(self.users[index]), width), width, self._style(look))

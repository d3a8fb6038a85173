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
from recsys_tui.tui.widgets.lines import fit, strip
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
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


class UserTable(ScrollView, can_focus=True):
    """Header plus one line per user; a row cursor; Enter posts ``Selected``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "select_row", "Log in", show=False),
    ]
    DEFAULT_CSS = """
    UserTable { background: $surface; overflow-x: hidden; }
    UserTable > .user-table--header { text-style: bold; background: $panel; }
    UserTable > .user-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    UserTable > .user-table--cursor-blurred { background: $block-cursor-blurred-background; }
    UserTable > .user-table--even { background: $surface-lighten-1 10%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"user-table--header", "user-table--cursor",
                                             "user-table--cursor-blurred", "user-table--even"}

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
        self._looks: dict[str, Style] = {}

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
        body = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + body:
            self.scroll_to(y=self.cursor_row - body + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(self.scrollable_content_region.height - 2, 1))

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

    def _style(self, look: str) -> Style:
        style = self._looks.get(look)
        if style is None:
            base = self.rich_style
            style = base + self.get_component_rich_style(look) if look else base
            self._looks[look] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()

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
        if index == self.cursor_row:
            look = "user-table--cursor" if self.has_focus else "user-table--cursor-blurred"
        else:
            look = "user-table--even" if index % 2 else ""
        return strip(self._line(cells(self.users[index]), width), width, self._style(look))

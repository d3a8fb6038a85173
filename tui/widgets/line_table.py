"""What the app's three line-API tables share (catalogue, recommendations, log-in users).

Each is a header line plus rows drawn by ``render_line`` from plain strings (``lines.strip``), with
a row cursor. This base holds the common parts: the cursor keys, the look of the header, cursor
and even rows (one CSS template, component classes named after the table), the styles cached per
look, and keeping the cursor's lines in view. The subclasses hold their rows, their messages and
their drawing. Event handlers (``on_click``, ``on_focus`` …) stay in the subclasses: Textual calls
a handler of every class in the MRO, so one here would run twice.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.scroll_view import ScrollView

CURSOR_KEYS: list[BindingType] = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("home", "edge(0)", "First", show=False),
    Binding("end", "edge(1)", "Last", show=False),
]
"""Up/Down/Home/End move the cursor (every table)."""
PAGE_KEYS: list[BindingType] = [
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
]
"""PgUp/PgDn (tables longer than a screen)."""


def table_css(type_name: str, prefix: str, extra: str = "") -> str:
    """The DEFAULT_CSS of a line table: header, cursor (focused and not) and even-row looks."""
    return f"""
    {type_name} {{ background: $surface; overflow-x: hidden; }}
    {type_name} > .{prefix}--header {{ text-style: bold; background: $panel; }}
    {type_name} > .{prefix}--cursor {{
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }}
    {type_name} > .{prefix}--cursor-blurred {{ background: $block-cursor-blurred-background; }}
    {type_name} > .{prefix}--even {{ background: $surface-lighten-1 10%; }}
    {extra}"""


def table_classes(prefix: str, *extra: str) -> set[str]:
    """The component classes ``table_css`` styles (plus ``extra`` ones)."""
    return {f"{prefix}--{name}" for name in ("header", "cursor", "cursor-blurred", "even", *extra)}


class LineTable(ScrollView, can_focus=True):
    """A header line plus rows, a row cursor, styles cached per look (see the module docstring)."""

    PREFIX: ClassVar[str] = ""
    """The component-class prefix, e.g. ``movie-table``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._looks: dict[str, Style] = {}

    def _style(self, look: str) -> Style:
        """The widget's style plus the component style ``look`` (cached until the styles change)."""
        style = self._looks.get(look)
        if style is None:
            base = self.rich_style
            style = base + self.get_component_rich_style(look) if look else base
            self._looks[look] = style
        return style

    def _row_look(self, index: int, cursor: int) -> str:
        """The look of row ``index``: the cursor's (focused or not), an even row's, or plain."""
        if index == cursor:
            return f"{self.PREFIX}--cursor" if self.has_focus else f"{self.PREFIX}--cursor-blurred"
        return f"{self.PREFIX}--even" if index % 2 else ""

    def _forget_drawn(self) -> None:
        """Drop rendered rows kept by a subclass (called when the styles change)."""

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._looks.clear()
        self._forget_drawn()  # a theme change restyles every row

    def _keep_in_view(self, first: int, last: int) -> None:
        """Scroll so virtual body lines ``first``–``last`` are visible (the header takes a line)."""
        body = max(self.scrollable_content_region.height - 1, 1)
        top = int(self.scroll_y)
        if first < top:
            self.scroll_to(y=first, animate=False, immediate=True)
        elif last >= top + body:
            self.scroll_to(y=last - body + 1, animate=False, immediate=True)

    def _page_rows(self) -> int:
        """Rows one PgUp/PgDn moves: a screen of them, less one for context."""
        return max(self.scrollable_content_region.height - 2, 1)

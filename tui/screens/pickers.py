"""Small modal pickers (genre filter)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static


class GenrePicker(ModalScreen[str | None]):
    """Pick one genre (Enter) or close (q / Escape); dismisses with the genre or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="genre.close"),
        Binding("q", "close", "Close", id="genre.close_q"),
    ]

    def __init__(self, genres: list[str], current: str | None) -> None:
        super().__init__()
        self.genres = genres
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(f"Genre filter (now: {self.current or 'all'})", id="picker-title")
            yield OptionList(*self.genres, id="picker-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.current in self.genres:
            options.highlighted = self.genres.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.genres[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)

"""Small modals: the genre picker and the confirmation step of expensive or permanent actions."""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import plain
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option


class GenrePicker(ModalScreen[str | None]):
    """Pick one genre (Enter) or close (Escape); dismisses with the genre or None.

    Letters typed here do nothing but move to the first genre starting with them (no action sits
    on a bare letter).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="genre.close"),
    ]

    def __init__(self, genres: list[str], current: str | None) -> None:
        super().__init__()
        self.genres = genres
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(Text(f"Genre filter (now: {plain(self.current or 'all')})"), id="picker-title")
            yield OptionList(*(Option(Text(plain(g))) for g in self.genres), id="picker-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.current in self.genres:
            options.highlighted = self.genres.index(self.current)

    def on_key(self, event) -> None:
        """A letter jumps to the first genre starting with it (type-ahead, never an action)."""
        if event.character and event.character.isalpha() and event.is_printable:
            letter = event.character.lower()
            match = next((n for n, g in enumerate(self.genres) if g.lower().startswith(letter)), None)
            if match is not None:
                self.query_one(OptionList).highlighted = match
            event.stop()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.genres[event.option_index])

    def action_close(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """One question; ``y`` or Enter on "Yes" confirms, ``n`` or Escape cancels (dismisses a bool).

    Used before anything permanent or expensive that a key can start (retrain, new user, quit with
    work running); a bare letter elsewhere never starts those.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]

    AUTO_FOCUS = "#confirm-no"  # Enter alone does not confirm

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self.question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="confirm-yes", variant="primary")
                yield Button("Cancel (n / Esc)", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

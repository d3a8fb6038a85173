"""Help: every key binding of the app, generated from the ``BINDINGS`` declarations."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def binding_rows() -> list[tuple[str, str, str, str]]:
    """(where, key, id, description) for every binding the app declares."""
    from recsys_tui.tui.app import RecsysApp
    from recsys_tui.tui.screens.learning import LearningScreen
    from recsys_tui.tui.screens.login import LoginScreen
    from recsys_tui.tui.screens.main import MainScreen
    from recsys_tui.tui.screens.pickers import GenrePicker

    rows = []
    owners = (("everywhere", RecsysApp), ("main", MainScreen), ("login", LoginScreen),
              ("learning", LearningScreen), ("help", HelpScreen), ("genre picker", GenrePicker))
    for where, owner in owners:
        for b in owner.BINDINGS:
            if isinstance(b, Binding):
                rows.append((where, b.key_display or b.key, b.id or "", b.description))
    rows.append(("everywhere", "tab / shift+tab", "", "Move between panes"))
    rows.append(("everywhere", "ctrl+p / p", "",
                 "Command palette: switch user, model, index, retrain, export"))
    return rows


class HelpScreen(ModalScreen):
    """Lists every binding; q, Escape, ? or F1 close it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("q", "close", "Close", show=False, id="help.close_q"),
        Binding("question_mark", "close", "Close", show=False, key_display="?", id="help.close_question"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys (letters, digits and F-keys only, so they pass through SSH). "
                         "Mouse works but is never required.", id="help-title")
            table: DataTable = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("Where", "Key", "Id", "What it does")
            for row in binding_rows():
                table.add_row(*row)
            yield table

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()

    def action_close(self) -> None:
        self.dismiss()

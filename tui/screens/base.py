"""What every screen shares: a typed ``app``, worker failures to the app's one error path, and
type-to-search."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from recsys_tui.tui.background import Cancelled
from textual import events
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from recsys_tui.tui.app import RecsysApp


class EngineScreen(Screen):
    """Base for the app's screens: ``self.app`` is the ``RecsysApp`` (typed), engine work runs in
    workers whose failures reach ``RecsysApp.worker_failed``."""

    @property
    def app(self) -> RecsysApp:
        """The running ``RecsysApp`` (Textual's ``app``, with the app's own type)."""
        return cast("RecsysApp", super().app)

    def finished(self, kind: str, value: Any = None) -> None:
        """Say that an action of ``kind`` has finished (``RecsysApp.finished_signal``)."""
        self.app.finished_signal.publish((kind, value))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and not isinstance(
                event.worker.error, Cancelled | asyncio.CancelledError):
            self.app.worker_failed(event.worker)


def type_to_search(screen: Screen, event: events.Key, lists: tuple[str, ...], search: str,
                   keep: str = "") -> bool:
    """A printable key typed while one of ``lists`` has the focus goes to the ``#search`` box.

    The box takes the focus, so the rest of a word follows; Escape or Enter brings the focus back.
    Characters in ``keep`` (e.g. the rating digits) stay keys. True when the key was taken.
    """
    focused = screen.focused
    char = event.character
    if (focused is not None and focused.id == search and event.is_printable and char
            and char not in keep):
        # A key queued to the list before the box took the focus (a word typed or pasted in one
        # burst) reaches the screen with the box already focused: it belongs in the box too.
        screen.query_one(f"#{search}", Input).insert_text_at_cursor(char)
        event.stop()
        event.prevent_default()
        return True
    if focused is None or focused.id not in lists or not event.is_printable or not char or char in keep:
        return False
    if char == " " and focused.id in lists:  # a space in a list starts no word
        return False
    box = screen.query_one(f"#{search}", Input)
    box.select_on_focus = False  # else the focus would select the first letter and the next replace it
    box.focus()
    box.insert_text_at_cursor(char)
    event.stop()
    event.prevent_default()
    return True

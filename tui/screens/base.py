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


def type_to_search(screen: EngineScreen, event: events.Key, lists: tuple[str, ...], search: str,
                   keep: str = "") -> bool:
    """A printable key typed while one of ``lists`` has the focus goes to the ``#search`` box.

    The first key of a word starts a new search (the box's old text is replaced; ``/`` edits it
    instead) and the box takes the focus, so the rest of the word follows; Escape or Enter brings
    the focus back. Characters in ``keep`` (e.g. the rating digits) stay keys. True when the key
    was taken.
    """
    focused = screen.focused
    char = event.character
    if not event.is_printable or not char or focused is None:
        return False
    box = screen.query_one(f"#{search}", Input)
    # Keys of a burst (a word typed fast, pasted, or sent by tmux) were forwarded to the list before
    # the focus moved and reach the screen with the box focused: they belong in the box too, spaces
    # and digits included (in a list, a space alone starts no word and a digit rates).
    if focused.id == search:
        box.insert_text_at_cursor(char)
    elif focused.id in lists and char != " " and char not in keep:
        box.select_on_focus = False  # else the focus would select the first letter and the next replace it
        box.value = ""
        screen.set_focus(box)  # at once (``focus()`` waits for the queue): the next key finds the box
        box.insert_text_at_cursor(char)
    else:
        return False
    event.stop()
    event.prevent_default()
    return True

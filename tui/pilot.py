"""The pilot surface of ``RecsysApp``: coroutines that drive the real app like a person would.

Used by the tests and the headless ``demo`` command. Every method is a coroutine that returns when
the app has finished the action: the worker ran and the UI was updated.

- ``await app.wait_ready()``: the engine is open and the login table is filled.
- ``await app.login(user_id | "new") -> RecList``: log in (or switch to) a user; "new" creates one.
- ``await app.search(text, genre=None) -> list[MovieRow]``: the catalogue search (``genre`` None
  keeps the current filter, "" clears it).
- ``await app.select(item_id) -> MovieRow``: select a movie as the keys would (catalogue focused,
  cursor on it); ``await app.select_recommendation(rank) -> MovieRow``: focus the recommendation
  list and highlight ``rank``.
- ``await app.rate(n) / app.click() / app.undo() -> EventResult | None``: the hot path, through the
  same key actions as the keyboard; returns after the recommendation pane has refreshed. None when
  nothing changed (the same rating again, nothing to undo: a quiet notice, as in the app).
- ``await app.similar() -> SimilarList``: more like the selected movie; like F3, the similar movies
  fill the catalogue, which takes the focus with the most similar one selected (so a following
  ``rate`` rates that one).
- ``await app.retrain(model=None) -> str``: retrain in the background, reload, return the version.
- ``await app.load_latest() -> str``: load the newest published version (palette command).
- ``await app.set_index(kind)``, ``await app.export() -> str`` (CSV path),
  ``await app.learning() -> report`` (opens the learning view and waits for the replay).
- ``app.last_result`` (EventResult), ``app.last_recs`` (RecList), ``app.engine_ms`` (engine total
  per interaction), ``app.render_ms`` (keypress handler start → after the refresh of the
  recommendation pane, per interaction), ``app.errors`` (one-line messages of failed workers),
  ``app.notices`` (every notification as (severity, title, message)).

A failed worker makes the waiting pilot call raise ``PilotError`` with the worker's message; the
app itself keeps running (notification + status line).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, cast

from recsys_tui.core.results import EventResult, RecList

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.signal import Signal

PILOT_TIMEOUT_S = float(os.environ.get("RECSYS_TUI_PILOT_TIMEOUT", "120"))
"""How long a pilot call waits for the app before giving up (``asyncio.TimeoutError``)."""


class PilotError(RuntimeError):
    """An action driven through the pilot surface failed inside the app."""


async def workers_idle(app: Any) -> None:
    """Wait until every worker of ``app`` has finished.

    Unlike ``app.workers.wait_for_complete()`` a worker that was cancelled (an exclusive worker
    replaced by a newer one, such as the poll for other processes' events) counts as finished;
    a worker that failed still raises ``WorkerFailed``.
    """
    from textual.worker import WorkerCancelled

    for worker in list(app.workers):
        try:
            await worker.wait()
        except WorkerCancelled:
            continue


class PilotSurface:
    """Mixed into ``RecsysApp``. The screens know nothing of the pilot: they publish
    ``(kind, value)`` on the app's ``finished_signal`` when an action has finished, and the pilot,
    subscribed to it (``listen``), resolves the calls waiting for that kind."""

    _waiters: dict[str, list[asyncio.Future]]
    _users_ready: bool
    main: Any  # the MainScreen once logged in
    engine: Any
    user_id: int | None
    services: Any

    def listen(self, signal: Signal[tuple[str, Any]]) -> None:
        """Subscribe the pilot to ``signal`` (the app's ``finished_signal``; the app is running)."""
        signal.subscribe(cast("DOMNode", self), self._finished, immediate=True)

    def _finished(self, done: tuple[str, Any]) -> None:
        """Resolve pilot calls waiting for ``done``'s kind with its value."""
        kind, value = done
        if kind == "users":
            self._users_ready = True
        for fut in self._waiters.pop(kind, []):
            if not fut.done():
                fut.set_result(value)

    def _expect(self, kind: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(kind, []).append(fut)
        return fut

    async def _until(self, fut: asyncio.Future) -> Any:
        return await asyncio.wait_for(fut, PILOT_TIMEOUT_S)

    def _need_main(self, selection: bool = False):
        if self.main is None or self.user_id is None:
            raise PilotError("log in first")
        if selection and self.main.selected is None:
            raise PilotError("select a movie first")
        return self.main

    async def wait_ready(self) -> None:
        if not self._users_ready:
            await self._until(self._expect("users"))

    async def login(self, user: int | str) -> RecList:
        await self.wait_ready()
        if user == "new":
            user_id = await asyncio.to_thread(self.engine.new_user)
        else:
            user_id = int(user)
        fut = self._expect("recs")
        self.login_as(user_id)
        return await self._until(fut)

    async def search(self, text: str, genre: str | None = None):
        fut = self._expect("search")
        self._need_main().set_search(text, genre)
        return await self._until(fut)

    async def select(self, item_id: int):
        fut = self._expect("movie")
        self._need_main().select_item(int(item_id))
        return await self._until(fut)

    async def select_recommendation(self, rank: int):
        fut = self._expect("movie")
        try:
            self._need_main().select_recommendation(int(rank))
        except IndexError as exc:
            raise PilotError(str(exc)) from None
        return await self._until(fut)

    async def rate(self, stars: int) -> EventResult | None:
        fut = self._expect("event")
        self._need_main(True).action_rate(int(stars))
        return await self._until(fut)

    async def click(self) -> EventResult:
        fut = self._expect("event")
        self._need_main(True).action_click()
        return await self._until(fut)

    async def undo(self) -> EventResult | None:
        fut = self._expect("event")
        self._need_main().action_undo()
        return await self._until(fut)

    async def similar(self):
        fut = self._expect("similar")
        self._need_main(True).action_similar()
        return await self._until(fut)

    async def retrain(self, model: str | None = None) -> str:
        if self.services.retrain is None:
            raise PilotError("retraining is not available")
        fut = self._expect("retrain")
        self._need_main().start_retrain(model)
        return await self._until(fut)

    async def load_latest(self) -> str:
        """Load the newest published version; returns it once the list is refreshed."""
        fut = self._expect("retrain")
        self._need_main().action_load_latest()
        return await self._until(fut)

    async def set_index(self, kind: str) -> RecList:
        fut = self._expect("recs")
        self._need_main().change_index(kind)
        return await self._until(fut)

    async def export(self) -> str:
        fut = self._expect("export")
        self._need_main().action_export()
        return await self._until(fut)

    async def learning(self):
        fut = self._expect("replay")
        self._need_main().action_learning()
        return await self._until(fut)

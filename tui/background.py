"""Long work (retrain, replay, index build) in daemon threads the app never has to wait for.

Textual's thread workers run in the event loop's default executor, whose threads are joined when
the app exits: quitting during a retrain used to wait for the fit to finish (and the retrain then
published after the app had gone). Here the blocking call runs in a daemon thread and the worker
only awaits its result; quitting cancels the worker at once, sets the ``Stop`` flag the work checks
between steps (so it stops before publishing), and the process does not wait for the thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside background work once the app asked it to stop."""


class Stop:
    """A cancellation flag shared by the app (sets it) and the work (checks it often)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.threads: list[threading.Thread] = []

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when the work should stop."""
        if self._event.is_set():
            raise Cancelled

    def alive(self) -> list[threading.Thread]:
        """Background threads still running."""
        self.threads = [t for t in self.threads if t.is_alive()]
        return self.threads

    def join(self, timeout_s: float) -> bool:
        """Give running work up to ``timeout_s`` in total to notice the flag; True if all stopped."""
        deadline = time.monotonic() + timeout_s
        for thread in self.alive():
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.alive()


async def in_daemon(stop: Stop, name: str, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a daemon thread and return its result (or raise its exception)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the worker was cancelled (app quit, view closed): nobody waits
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def deliver(result: Any, error: BaseException | None) -> None:
        if loop.is_closed():
            return  # the app has gone; the result has no reader
        try:
            loop.call_soon_threadsafe(settle, result, error)
        except RuntimeError:  # the loop closed between the check and the call: same as above
            return

    def target() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting worker, which reports it
            deliver(None, exc)
            return
        deliver(result, None)

    thread = threading.Thread(target=target, name=f"recsys-{name}", daemon=True)
    stop.threads.append(thread)
    thread.start()
    return await future

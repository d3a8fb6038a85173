"""The Textual app: a thin shell that pushes screens and offers a small pilot surface.

Screens: start-up (first-run fetch + train with progress, then opening the engine) → login →
main (catalogue, movie detail, recommendations, latency, profile); help, learning, genre picker.

The pilot surface (``await app.rate(5)`` …) that tests and the headless ``demo`` command use is
documented in ``tui.pilot``.

Keys: letters typed in a list go to its search box; anything permanent or expensive sits on a
ctrl/F-key and asks first (see ``screens.help``). Quitting never waits for background work: it is
cancelled (``tui.background``) and ``cancelled_on_quit`` says what was stopped. An unexpected error
ends the app with one line (``crash``) and a non-zero return code, never a traceback.
"""

from __future__ import annotations

import gc
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from recsys_tui.common.text import plain
from recsys_tui.core.results import EventResult, RecList, UserSummary
from recsys_tui.tui import preferences
from recsys_tui.tui.background import Stop
from recsys_tui.tui.commands import RecsysCommands
from recsys_tui.tui.pilot import PilotError, PilotSurface
from recsys_tui.tui.services import EngineAPI, Services
from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.signal import Signal
from textual.worker import Worker

if TYPE_CHECKING:
    from recsys_tui.tui.screens.main import MainScreen

IDLE_GC_S = 1.0
"""Seconds without an interaction after which the app runs the full garbage collection itself."""
GC_THRESHOLDS = (700, 1, 5000)
"""Young collections at Python's default; the middle generation every second one (short pauses
instead of one of 1–2 ms every ~100 events when many users are served: ``api.gcwatch``'s
``SERVING_MIDDLE``); automatic full collections rare (as often as Python's 10 × 1,000 young
collections before; see ``freeze_heap``)."""
BACKGROUND_GROUPS = {"retrain": "retrain", "replay": "learning-view replay", "index": "index build"}
"""Worker groups that run long work, and how the quit message names them."""
ERROR_SHOWN_S = 20.0
"""How long a failure stays in the status line when nothing else clears it first."""
DEBUG_ENV = "RECSYS_TUI_DEBUG"
"""Set to 1 to get Textual's full traceback on a crash instead of the one line."""


def one_line(error: BaseException) -> str:
    """An exception as one plain line: its type and message."""
    text = " ".join(plain(str(error)).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RecsysApp(PilotSurface, App):
    """recsys-tui: log in, browse, rate, and watch recommendations and latencies change live."""

    TITLE = "recsys-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {RecsysCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
    ]

    def __init__(self, services: Services, engine: EngineAPI | None = None) -> None:
        super().__init__()
        self.services = services
        self.stop = Stop()
        self.crash: str | None = None
        self.cancelled_on_quit: list[str] = []
        self.prefs, problem = preferences.load(services.preferences)
        self._startup_notice = problem
        self.session_model: str | None = None
        self.engine: EngineAPI | None = engine
        self.user_id: int | None = None
        self.main: MainScreen | None = None
        self.last_result: EventResult | None = None
        self.last_recs: RecList | None = None
        self.engine_ms: list[float] = []
        self.render_ms: list[float] = []
        self.errors: list[str] = []
        self.notices: list[tuple[str, str, str]] = []
        self._users: dict[int, UserSummary] = {}
        self._waiters: dict[str, list] = {}
        self._users_ready = False
        self._gc_timer = None
        self._saved_gc: tuple[int, ...] | None = None
        self.finished_signal: Signal[tuple[str, Any]] = Signal(self, "finished")
        """Screens publish ``(kind, value)`` here when an action has finished (the pilot listens)."""

    # -- screens ---------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from recsys_tui.tui.screens.login import LoginScreen

        if self.prefs.theme and self.prefs.theme in self.available_themes:
            self.theme = self.prefs.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.listen(self.finished_signal)
        if self._startup_notice:
            self.notify(self._startup_notice, title="preferences", severity="warning")
        # The login screen comes first: it opens the engine (in a worker) and fills its table; the
        # start-up screen replaces it only when the home still needs its dataset or model.
        self.push_screen(LoginScreen())

    def run_setup(self) -> None:
        """The home needs setting up (first run): the start-up screen fetches and trains."""
        from recsys_tui.tui.screens.setup import SetupScreen

        gc.enable()  # fetching and training allocate a lot: collect as usual meanwhile
        if not self._exit:
            self.switch_screen(SetupScreen())

    def engine_opened(self, engine: EngineAPI) -> None:
        """The engine is open (opened by the login screen or the start-up screen); the heap is
        frozen once the screen showing it has been drawn (the collection is not in the way)."""
        self.engine = engine
        self.call_after_refresh(self.freeze_heap)

    def engine_ready(self, engine: EngineAPI, setup_ran: bool) -> None:
        """Called by the start-up screen once the engine is open."""
        from recsys_tui.tui.screens.login import LoginScreen

        self.engine_opened(engine)
        if setup_ran:
            self.notify("Dataset fetched and default model trained.", title="ready")
        self.switch_screen(LoginScreen())

    def freeze_heap(self) -> None:
        """Collect once and move every object alive now out of the collector's reach.

        The engine and the screens are built once and live for the whole session; without this a
        full (generation 2) collection walks them all and stalls the UI for 100+ ms at random
        moments, typically in the middle of a rating. Called when the engine opens and after the
        main screen's first list is shown. From then on full collections run when the person pauses
        (``idle_gc``), not in the middle of an interaction. The collector, if start-up turned it off
        (``launch``), is on again from here.
        """
        if self._saved_gc is None:
            self._saved_gc = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        gc.enable()

    def on_unmount(self) -> None:
        """Give the process its collector back (tests and the demo run several apps in one process)."""
        gc.enable()
        if self._saved_gc is not None:
            gc.unfreeze()
            gc.set_threshold(*self._saved_gc)
            self._saved_gc = None

    def idle_gc(self) -> None:
        """(Re)arm the idle collection: it runs ``IDLE_GC_S`` after the last interaction."""
        if self._gc_timer is not None:
            self._gc_timer.stop()
        self._gc_timer = self.set_timer(IDLE_GC_S, gc.collect, name="idle-gc")

    # -- preferences -----------------------------------------------------------------------------

    def save_preferences(self, **changes) -> None:
        """Remember ``changes`` (theme, last_user, layout) in the home's preferences file."""
        new = replace(self.prefs, **changes)
        if new == self.prefs:
            return
        self.prefs = new
        try:
            preferences.save(self.services.preferences, new)
        except OSError as exc:
            self.notify(f"cannot save preferences: {exc.strerror or exc}", severity="warning")

    def _theme_changed(self, theme) -> None:
        self.save_preferences(theme=theme.name)

    def set_layout(self, layout: str) -> None:
        """``auto``, ``compact`` or ``wide`` (saved as a preference)."""
        self.save_preferences(layout=layout)
        if self.main is not None and self.main.is_mounted:
            self.main.apply_layout()
        self.notify(f"Layout: {layout}.", title="layout")

    # -- lifecycle -------------------------------------------------------------------------------

    def running_work(self) -> list[str]:
        """Names of the long background jobs running now (retrain, replay, index build)."""
        groups = {w.group for w in self.workers if not w.is_finished}
        return [name for group, name in BACKGROUND_GROUPS.items() if group in groups]

    async def on_event(self, event: events.Event) -> None:
        """Keys queued behind the quit key (a burst such as "quiz") are dropped, not run on
        screens that are already going away."""
        if self._exit and isinstance(event, events.Key | events.MouseEvent):
            return
        await super().on_event(event)

    def action_command_palette(self) -> None:
        if not self._exit:
            super().action_command_palette()

    async def action_quit(self) -> None:
        """Quit at once: running work is told to stop (it never publishes after this) and named."""
        self.cancelled_on_quit = self.running_work()
        self.stop.set()
        self.exit()

    def _handle_exception(self, error: Exception) -> None:
        """An unexpected error ends the app with one line (``crash``) and return code 1.

        Textual would print a full traceback with locals; the CLI prints ``crash`` instead. Set
        RECSYS_TUI_DEBUG=1 to get the traceback.
        """
        if os.environ.get(DEBUG_ENV) == "1":
            super()._handle_exception(error)
            return
        if self.crash is None:
            self.crash = one_line(error)
        self.stop.set()
        self._return_code = 1
        if self._exception is None:  # run_test re-raises it, so tests still see the crash
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    def login_as(self, user_id: int) -> None:
        """Log in as ``user_id`` from the login screen (first time or switching)."""
        from recsys_tui.tui.screens.login import LoginScreen
        from recsys_tui.tui.screens.main import MainScreen

        if self._exit:
            return
        self.user_id = user_id
        self.save_preferences(last_user=user_id)
        if self.main is None:
            self.main = MainScreen()
            self.switch_screen(self.main)
            return
        if isinstance(self.screen, LoginScreen):
            self.pop_screen()
        self.main.set_user(user_id)

    def user_summary(self, user_id: int | None) -> UserSummary | None:
        if user_id is None or self.engine is None:
            return None
        if user_id not in self._users:
            try:
                self._users[user_id] = self.engine.user(user_id)
            except Exception as exc:  # unknown user id: show the profile without the summary
                self.log.warning(f"no summary for user {user_id}: {exc}")
                return None
        return self._users[user_id]

    def action_help(self) -> None:
        from recsys_tui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        elif not self._exit:
            self.push_screen(HelpScreen())

    # -- command palette targets -----------------------------------------------------------------

    def _main_or_warn(self):
        if self.main is None or self.user_id is None:
            self.notify("Log in first.", severity="warning")
            return None
        return self.main

    def command_switch_user(self) -> None:
        if (main := self._main_or_warn()) is not None:
            main.action_switch_user()

    def command_retrain(self, model: str | None) -> None:
        """From the palette (a deliberate choice: no second confirmation)."""
        if (main := self._main_or_warn()) is not None:
            main.start_retrain(model)

    def command_save_model(self) -> None:
        """Make the model of this session the home's default for later launches."""
        if self._main_or_warn() is None or self.engine is None:
            return
        if self.services.save_default is None:
            self.notify("Saving the model is not available here.", severity="warning")
            return
        version = self.engine.version
        self.services.save_default(version)
        self.session_model = None
        self.notify(f"Model {version} is now the default for later launches.", title="saved")

    def command_layout(self, layout: str) -> None:
        self.set_layout(layout)

    def command_load_latest(self) -> None:
        if (main := self._main_or_warn()) is not None:
            main.action_load_latest()

    def command_index(self, kind: str) -> None:
        if (main := self._main_or_warn()) is not None:
            main.change_index(kind)

    def command_export(self) -> None:
        if (main := self._main_or_warn()) is not None:
            main.action_export()

    def command_learning(self) -> None:
        if (main := self._main_or_warn()) is not None:
            main.action_learning()

    # -- errors ----------------------------------------------------------------------------------

    def _clear_error(self, text: str) -> None:
        """The status line drops an error after a while (unless a newer one replaced it)."""
        main = self.main
        newest = self.errors[-1] if self.errors else None
        if main is not None and main.is_mounted and not self._exit and newest == text:
            main.refresh_status(error="")

    def notify(self, message: str, *, title: str = "", severity: str = "information", **kwargs) -> None:
        """Show a toast and remember it in ``notices`` as (severity, title, message).

        Messages carry outside text (titles, paths, server replies): shown as plain text, never markup.
        """
        message, title = plain(message), plain(title)
        self.notices.append((severity, title, message))
        kwargs.setdefault("markup", False)
        super().notify(message, title=title, severity=severity, **kwargs)  # type: ignore[arg-type]

    def worker_failed(self, worker: Worker) -> None:
        """The one error path: notification, status line, and any waiting pilot call fails."""
        error = worker.error
        gc.enable()  # a failed start never reaches freeze_heap
        text = " ".join(plain(str(error)).split()) or type(error).__name__
        self.errors.append(text)
        self.notify(text, title=f"{worker.group or 'work'} failed", severity="error", timeout=10)
        if self.main is not None and self.main.is_mounted and not self._exit:
            self.main.refresh_status(busy="", error=text)
            self.set_timer(ERROR_SHOWN_S, lambda: self._clear_error(text), name="clear-error")
        for futures in self._waiters.values():
            for fut in futures:
                if not fut.done():
                    fut.set_exception(PilotError(text))
        self._waiters.clear()



__all__ = ["PilotError", "RecsysApp"]

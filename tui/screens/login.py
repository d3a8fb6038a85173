"""Login: a searchable table of every user, or a brand-new one (cold start)."""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import has_control, plain
from recsys_tui.core.results import UserSummary
from recsys_tui.tui.messages import SetupNeeded, UserChosen, UsersIndexed, UsersLoaded
from recsys_tui.tui.screens.base import EngineScreen, type_to_search
from recsys_tui.tui.widgets.footer import StableFooter
from recsys_tui.tui.widgets.user_table import UserTable
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static
from textual.worker import Worker, WorkerState


def search_text(user: UserSummary) -> str:
    """What the filter looks in: the user's id, age, gender, occupation and genres, lower case."""
    return " ".join([str(user.user_id), str(user.age or ""), user.gender, user.occupation,
                     *user.top_genres, "new" if user.new else ""]).lower()


def matches(user: UserSummary, text: str) -> bool:
    """Every word of ``text`` appears in the user's id, age, gender, occupation or genres."""
    hay = search_text(user)
    return all(word in hay for word in text.lower().split())


def ordered(users: list[UserSummary], text: str, hays: list[str] | None = None) -> list[UserSummary]:
    """The users matching ``text`` (``hays``: their ``search_text``, precomputed); a number that is
    a user's id puts that user first."""
    words = text.lower().split()
    if not words:
        return users
    hays = hays if hays is not None else [search_text(u) for u in users]
    shown = [u for u, hay in zip(users, hays, strict=True) if all(w in hay for w in words)]
    wanted = text.strip()
    if wanted.isdigit():
        exact = [u for u in shown if u.user_id == int(wanted)]
        shown = exact + [u for u in shown if u.user_id != int(wanted)]
    return shown


class LoginScreen(EngineScreen):
    """Enter logs in as the highlighted user, from the table or from the filter box; F2 creates a
    new one (after a confirmation).

    Letters and digits typed in the table go to the filter box (type-to-search); in the box, the
    arrow keys move the table's cursor, Escape goes back to the table.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", key_display="/", id="login.search"),
        Binding("f2", "new_user", "New user…", id="login.new_user"),
        Binding("escape", "cancel", "Back", id="login.back"),
        Binding("down", "cursor(1)", "Down", show=False, priority=True, id="login.down"),
        Binding("up", "cursor(-1)", "Up", show=False, priority=True, id="login.up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, priority=True, id="login.page_down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, priority=True, id="login.page_up"),
    ]

    def __init__(self, switching: bool = False) -> None:
        super().__init__()
        self.switching = switching
        self.users: list[UserSummary] = []
        self.hays: list[str] = []
        self.shown: list[UserSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Static("Who are you? Pick a MovieLens user (Enter), or start fresh as a new user (F2). "
                         "Type to filter.", id="login-title")
            with Horizontal(id="login-bar"):
                yield Input(placeholder="filter by id, age, occupation, genre · Enter logs in",
                            id="login-search")
                # Mouse only: a key typed on a focused button would press it (F2 is the key).
                new = Button("New user (F2)", id="login-new")
                new.can_focus = False
                yield new
            yield Static("loading users…", id="login-count")
            yield UserTable(id="login-table")
        yield StableFooter()

    @property
    def table(self) -> UserTable:
        return self.query_one("#login-table", UserTable)

    def on_mount(self) -> None:
        self.set_focus(self.table)  # at once: a deferred focus could land after the first typed keys
        self.load_users()

    def on_key(self, event: events.Key) -> None:
        """Type-to-search: a printable key in the table (except /, the search key) goes to the box."""
        type_to_search(self, event, ("login-table",), "login-search", keep="/")

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def load_users(self) -> None:
        """The users for the table; at start-up the engine is opened here first (the app's first
        screen is this one, filled as soon as the engine is open; the start-up screen with its
        progress is shown only when a dataset or model is missing)."""
        engine, opened = self.app.engine, None
        if engine is None:
            services = self.app.services
            if services.needs_setup():
                self.post_message(SetupNeeded())
                return
            engine = opened = services.open_engine()
        users = engine.users()
        self.post_message(UsersLoaded(users, opened))
        engine.finish_open()  # the store's ping and catch-up, off the way to the table (Engine.open)
        # the filter's texts after the table is up (a filter typed before they come makes them)
        self.post_message(UsersIndexed(users, [search_text(u) for u in users]))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed start (engine or users) is said where the users would be. Textual also runs
        the base screen's handler (notification, ``app.errors``); the CLI exits 1 after the quit."""
        if event.state == WorkerState.ERROR and event.worker.group == "users" and not self.users:
            why = " ".join(plain(str(event.worker.error)).split()) or type(event.worker.error).__name__
            self.query_one("#login-count", Static).update(f"cannot start: {why} (Ctrl+Q quits)")

    def on_setup_needed(self, message: SetupNeeded) -> None:
        self.app.run_setup()

    def on_users_loaded(self, message: UsersLoaded) -> None:
        if message.opened is not None:
            self.app.engine_opened(message.opened)
        self.users = message.users
        self.hays = []
        self._fill(self.query_one("#login-search", Input).value)
        self._cursor_to(self.app.user_id or self.app.prefs.last_user)
        self.finished("users", len(self.users))

    def on_users_indexed(self, message: UsersIndexed) -> None:
        if message.users is self.users and not self.hays:
            self.hays = message.hays

    def _fill(self, text: str) -> None:
        if text.split() and not self.hays and self.users:
            self.hays = [search_text(u) for u in self.users]
        self.shown = ordered(self.users, text, self.hays or None)
        self.table.set_users(self.shown)
        total, shown = len(self.users), len(self.shown)
        count = f"{total:,} users" if shown == total else f"{shown:,} of {total:,} users match"
        self.query_one("#login-count", Static).update(count, layout=False)

    def _cursor_to(self, user_id: int | None) -> None:
        """Highlight ``user_id``'s row (the current or last user) when it is shown."""
        if user_id is None:  # nobody to find: no walk over every row (162k at ML-25M size)
            return
        index = next((n for n, u in enumerate(self.shown) if u.user_id == user_id), None)
        if index is not None:
            self.table.move_cursor(index)

    def on_input_changed(self, event: Input.Changed) -> None:
        if has_control(event.value):  # pasted control characters are shown as placeholders
            event.input.value = plain(event.value)
            return
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter box logs in as the highlighted match (as Enter in the table does)."""
        user = self.table.user_at(self.table.cursor_row)
        if user is None:
            self.app.notify("No user matches the filter.", severity="warning", timeout=3)
            return
        self.post_message(UserChosen(user))

    def on_user_table_selected(self, event: UserTable.Selected) -> None:
        self.post_message(UserChosen(event.user_id))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "login-new":
            self.action_new_user()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape leaves the filter box; otherwise ``Back`` exists only when switching user. The
        arrows are the screen's only in the filter box (the table has its own)."""
        if action == "cancel":
            return self.switching or self._in_search()
        if action == "cursor":
            return self._in_search()
        return True

    def _in_search(self) -> bool:
        return self.focused is not None and self.focused.id == "login-search"

    def action_cursor(self, step: int) -> None:
        """Up/Down/PgUp/PgDn in the filter box move the table's cursor."""
        self.table.move_cursor(self.table.cursor_row + step)

    def action_cancel(self) -> None:
        if self._in_search():
            self.table.focus()
        elif self.switching:
            self.dismiss()

    def action_focus_search(self) -> None:
        self.query_one("#login-search", Input).focus()

    def action_new_user(self) -> None:
        """F2 or the button: a new permanent user, after a confirmation."""
        from recsys_tui.tui.screens.pickers import Confirm

        if self.app._exit:
            return
        if self.app.engine is None:
            self.app.notify("Still opening the engine: a moment.", timeout=3)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.create_user()

        self.app.push_screen(Confirm("Create a new user? The id is kept in this home's event log for good "
                                     "(its recommendations start from what is popular).",
                                     yes="Create user"), answered)

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def create_user(self) -> None:
        engine = self.app.engine
        assert engine is not None
        self.post_message(UserChosen(engine.new_user()))

    def on_user_chosen(self, message: UserChosen) -> None:
        self.app.login_as(message.user_id)

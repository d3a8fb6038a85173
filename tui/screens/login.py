"""Login: a searchable table of every user, or a brand-new one (cold start)."""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import has_control, plain
from recsys_tui.core.results import UserSummary
from recsys_tui.tui.messages import UserChosen, UsersLoaded
from recsys_tui.tui.screens.base import EngineScreen, type_to_search
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Input, Static


def ordered(users: list[UserSummary], text: str) -> list[UserSummary]:
    """The users matching ``text``; a number that is a user's id puts that user first."""
    shown = [u for u in users if matches(u, text)]
    wanted = text.strip()
    if wanted.isdigit():
        exact = [u for u in shown if u.user_id == int(wanted)]
        shown = exact + [u for u in shown if u.user_id != int(wanted)]
    return shown


def row_cells(u: UserSummary) -> tuple[Text, ...]:
    """One login-table row; outside text (occupation, genres) as inert ``Text``."""
    genres = ", ".join(u.top_genres) or ("new" if u.new else "-")
    return (Text(str(u.user_id), justify="right"), Text(str(u.age or "-"), justify="right"),
            Text(plain(u.gender or "-")), Text(plain(u.occupation or "-")),
            Text(str(u.n_ratings), justify="right"), Text(plain(genres)))


def matches(user: UserSummary, text: str) -> bool:
    """Every word of ``text`` appears in the user's id, age, gender, occupation or genres."""
    hay = " ".join([str(user.user_id), str(user.age or ""), user.gender, user.occupation,
                    *user.top_genres, "new" if user.new else ""]).lower()
    return all(word in hay for word in text.lower().split())


class LoginScreen(EngineScreen):
    """Enter logs in as the highlighted user; F2 creates a new one (after a confirmation).

    Letters and digits typed in the table go to the filter box (type-to-search).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", key_display="/", id="login.search"),
        Binding("f2", "new_user", "New user…", id="login.new_user"),
        Binding("escape", "cancel", "Back", id="login.back"),
    ]

    def __init__(self, switching: bool = False) -> None:
        super().__init__()
        self.switching = switching
        self.users: list[UserSummary] = []
        self.shown: list[UserSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Static("Who are you? Pick a MovieLens user (Enter), or start fresh as a new user (F2). "
                         "Type to filter.", id="login-title")
            with Horizontal(id="login-bar"):
                yield Input(placeholder="filter: id, age, occupation, genre (type or /)", id="login-search")
                # Mouse only: a key typed on a focused button would press it (F2 is the key).
                new = Button("New user (F2)", id="login-new")
                new.can_focus = False
                yield new
            table: DataTable = DataTable(id="login-table", cursor_type="row", zebra_stripes=True)
            # Fixed widths: the table looks the same whatever order its rows arrive in.
            for key, label, width in (("id", "User", 6), ("age", "Age", 3), ("gender", "Sex", 3),
                                      ("occ", "Occupation", 13), ("n", "#Ratings", 8),
                                      ("genres", "Favourite genres", 30)):
                table.add_column(label, key=key, width=width)
            yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-table", DataTable).focus()
        self.load_users()

    def on_key(self, event: events.Key) -> None:
        type_to_search(self, event, ("login-table",), "login-search")

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def load_users(self) -> None:
        self.post_message(UsersLoaded(self.app.engine.users()))

    def on_users_loaded(self, message: UsersLoaded) -> None:
        self.users = message.users
        self._fill(self.query_one("#login-search", Input).value)
        self._cursor_to(self.app.user_id or self.app.prefs.last_user)
        self.finished("users", len(self.users))

    def _fill(self, text: str) -> None:
        table = self.query_one("#login-table", DataTable)
        table.clear()
        self.shown = ordered(self.users, text)
        for u in self.shown:
            table.add_row(*row_cells(u), key=str(u.user_id))
        if self.shown:
            table.move_cursor(row=0, animate=False)

    def _cursor_to(self, user_id: int | None) -> None:
        """Highlight ``user_id``'s row (the current or last user) when it is shown."""
        ids = [u.user_id for u in self.shown]
        if user_id in ids:
            self.query_one("#login-table", DataTable).move_cursor(row=ids.index(user_id), animate=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        if has_control(event.value):  # pasted control characters are shown as placeholders
            event.input.value = plain(event.value)
            return
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#login-table", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.post_message(UserChosen(int(event.row_key.value)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "login-new":
            self.action_new_user()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape leaves the filter box; otherwise ``Back`` exists only when switching user."""
        if action == "cancel":
            return self.switching or self._in_search()
        return True

    def _in_search(self) -> bool:
        return self.focused is not None and self.focused.id == "login-search"

    def action_cancel(self) -> None:
        if self._in_search():
            self.query_one("#login-table", DataTable).focus()
        elif self.switching:
            self.dismiss()

    def action_focus_search(self) -> None:
        self.query_one("#login-search", Input).focus()

    def action_new_user(self) -> None:
        """F2 or the button: a new permanent user, after a confirmation."""
        from recsys_tui.tui.screens.pickers import Confirm

        if self.app._exit:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.create_user()

        self.app.push_screen(Confirm("Create a new user? The id is kept in this home's event log for good "
                                     "(its recommendations start from what is popular).",
                                     yes="Create user"), answered)

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def create_user(self) -> None:
        self.post_message(UserChosen(self.app.engine.new_user()))

    def on_user_chosen(self, message: UserChosen) -> None:
        self.app.login_as(message.user_id)

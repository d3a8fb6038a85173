"""Login: a searchable table of every user, or a brand-new one (cold start)."""

from __future__ import annotations

from typing import ClassVar

from recsys_tui.common.text import plain
from recsys_tui.core.results import UserSummary
from recsys_tui.tui.messages import UserChosen, UsersLoaded
from recsys_tui.tui.screens.base import EngineScreen
from rich.text import Text
from textual import work
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
    """Enter logs in as the highlighted user; ``n`` creates a new one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_user", "New user", id="login.new_user"),
        Binding("slash", "focus_search", "Search", id="login.search"),
        Binding("f2", "new_user", "New user", show=False, id="login.new_user_f2"),
        Binding("escape", "cancel", "Back", id="login.back"),
    ]

    def __init__(self, switching: bool = False) -> None:
        super().__init__()
        self.switching = switching
        self.users: list[UserSummary] = []
        self.shown: list[UserSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Static("Who are you? Pick a MovieLens user (Enter) or start fresh (n).", id="login-title")
            with Horizontal(id="login-bar"):
                yield Input(placeholder="filter: id, age, occupation, genre (/)", id="login-search")
                yield Button("New user (n)", id="login-new")
            table: DataTable = DataTable(id="login-table", cursor_type="row", zebra_stripes=True)
            for key, label in (("id", "User"), ("age", "Age"), ("gender", "Sex"), ("occ", "Occupation"),
                               ("n", "#Ratings"), ("genres", "Favourite genres")):
                table.add_column(label, key=key)
            yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#login-table", DataTable).focus()
        self.load_users()

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def load_users(self) -> None:
        self.post_message(UsersLoaded(self.app.engine.users()))  # type: ignore[attr-defined]

    def on_users_loaded(self, message: UsersLoaded) -> None:
        self.users = message.users
        self._fill(self.query_one("#login-search", Input).value)
        self.app.settle("users", len(self.users))  # type: ignore[attr-defined]

    def _fill(self, text: str) -> None:
        table = self.query_one("#login-table", DataTable)
        table.clear()
        self.shown = ordered(self.users, text)
        for u in self.shown:
            table.add_row(*row_cells(u), key=str(u.user_id))
        if self.shown:
            table.move_cursor(row=0, animate=False)

    def on_input_changed(self, event: Input.Changed) -> None:
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
        """``Back`` exists only when switching user (there is a main screen to go back to)."""
        return self.switching if action == "cancel" else True

    def action_cancel(self) -> None:
        self.dismiss()

    def action_focus_search(self) -> None:
        self.query_one("#login-search", Input).focus()

    def action_new_user(self) -> None:
        self.create_user()

    @work(thread=True, exit_on_error=False, exclusive=True, group="users")
    def create_user(self) -> None:
        self.post_message(UserChosen(self.app.engine.new_user()))  # type: ignore[attr-defined]

    def on_user_chosen(self, message: UserChosen) -> None:
        self.app.login_as(message.user_id)  # type: ignore[attr-defined]

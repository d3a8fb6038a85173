"""Help: the keys grouped by where they work, with human key names, and what the numbers mean.

The key lines are generated from the ``BINDINGS`` declarations (so help never drifts from the keys),
plus the few keys that live in widgets (Enter, Tab, type-to-search).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {"slash": "/", "escape": "Esc", "enter": "Enter", "tab": "Tab", "question_mark": "?",
             "space": "Space", "up": "↑", "down": "↓"}

MEANINGS = (
    ("Δ", "how a recommendation moved after your last action: new (just entered the top 10), ↑2 / ↓1 "
          "(places up or down), = (same place); the “out:” line lists what left the list."),
    ("Score", "the current model's raw score for you and that movie; only the order matters, higher "
              "ranks first (ALS: dot product of your vector and the movie's; popularity: how often "
              "it was rated)."),
    ("View (click)", "Enter on a movie logs a view: a weak signal (worth less than a rating) that "
                     "still moves your recommendations."),
    ("valid", "checking the user, the movie and the value."),
    ("log", "writing the event to the durable event log (nothing is acknowledged before this)."),
    ("feat", "updating your online features in the feature store (Redis protocol)."),
    ("fold", "re-solving your 64-d taste vector from your whole history (fold-in)."),
    ("search", "finding candidate movies in the vector index."),
    ("rerank", "dropping what you have seen, ordering, attaching the reason."),
    ("total · key→pane", "the engine's own time, and the time from your key to the refreshed list "
                         "(engine plus drawing); p50/p99 are over this session."),
)


def key_name(key: str) -> str:
    """``ctrl+z`` → ``Ctrl+Z``, ``f3`` → ``F3``, ``slash`` → ``/``."""
    parts = []
    for part in key.split("+"):
        if part in KEY_NAMES:
            parts.append(KEY_NAMES[part])
        elif part.startswith("f") and part[1:].isdigit():
            parts.append(part.upper())
        elif part in ("ctrl", "shift", "alt"):
            parts.append(part.capitalize())
        else:
            parts.append(part.upper() if len(part) == 1 else part)
    return "+".join(parts)


def _rows(owner, skip: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """(key, what, binding id) for the bindings of ``owner`` (1–5 collapse into one line)."""
    rows = []
    for b in owner.BINDINGS:
        if not isinstance(b, Binding) or (b.id or "") in skip:
            continue
        first_of_group = {"rate(": "1", "nudge(": "minus"}
        if any(b.action.startswith(a) and b.key != key for a, key in first_of_group.items()):
            continue  # one help line for 1 … 5, one for + / -
        if b.action.startswith("nudge("):
            rows.append(("+ / -", "Half a star up / down for the highlighted movie's rating (data sets "
                                  "rated in half stars: ML-10M and later; 4 then - is ★3.5)", b.id or ""))
            continue
        key = "1 … 5" if b.action.startswith("rate(") else key_name(b.key)
        what = "Rate the highlighted movie 1 to 5 stars (same value again: no change)" \
            if b.action.startswith("rate(") else b.description
        rows.append((key, what, b.id or ""))
    return rows


LOGIN_MOVES = ("login.down", "login.up", "login.page_down", "login.page_up")
"""The log-in screen's cursor keys: one help line says them all."""


def help_sections() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(section title, [(key, what it does, binding id)]) for every place keys work."""
    from recsys_tui.tui.app import RecsysApp
    from recsys_tui.tui.screens.learning import LearningScreen
    from recsys_tui.tui.screens.login import LoginScreen
    from recsys_tui.tui.screens.main import LIST_ACTIONS, MainScreen
    from recsys_tui.tui.screens.pickers import Confirm, GenrePicker

    main = _rows(MainScreen)
    in_lists = [r for r in main if any(r[2].startswith(f"main.{a}") for a in LIST_ACTIONS)]
    rest = [r for r in main if r not in in_lists]
    return [
        ("Everywhere", [*_rows(RecsysApp),
                        ("Ctrl+P", "Command palette: switch user, model, index, layout, theme, "
                                   "retrain, export", ""),
                        ("Tab / Shift+Tab", "Next / previous pane that can be acted on", "")]),
        ("Catalogue and Recommendations (the focused list)", [
            ("letters", "Type to search: a letter starts a new search in the box (Esc, Enter or ↓ go back; "
                         "/ edits the current search)", ""),
            ("↑ ↓ PgUp PgDn", "Move the highlight; keys act on the highlighted movie", ""),
            *in_lists,
            ("Enter", "View (click) the highlighted movie", ""),
        ]),
        ("Main screen", rest),
        ("Log-in", [("letters, digits", "Type to filter (id, age, occupation, genre)", ""),
                    ("↑ ↓ PgUp PgDn", "Move the highlight (also while typing in the filter box)", ""),
                    ("Enter", "Log in as the highlighted user (also from the filter box)", ""),
                    *_rows(LoginScreen, LOGIN_MOVES)]),
        ("Learning view", _rows(LearningScreen)),
        ("Genre picker", [("letters", "Jump to a genre", ""), ("Enter", "Choose", ""),
                          *_rows(GenrePicker)]),
        ("Confirmation", _rows(Confirm)),
        ("Help", _rows(HelpScreen)),
    ]


def help_text() -> Text:
    """The whole help page as one Text (never markup)."""
    text = Text()
    text.append("Keys are digits, F-keys and Ctrl-keys, so letters are always search text; anything "
                "permanent or slow (retrain, new user) asks first. The footer shows the keys of the "
                "focused pane (on a narrow terminal the most used ones; this page lists every key). "
                "Mouse works but is never required.\n")
    for title, rows in help_sections():
        text.append(f"\n{title}\n", style="bold underline")
        for key, what, _ in rows:
            text.append(f"  {key:<16}", style="bold")
            text.append(f" {what}\n")
    text.append("\nWhat the numbers mean\n", style="bold underline")
    for name, meaning in MEANINGS:
        text.append(f"  {name:<16}", style="bold")
        text.append(f" {meaning}\n")
    return text


class HelpScreen(ModalScreen):
    """The keys by pane and the meaning of Δ, score, view and each latency step; Esc or F1 close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("recsys-tui help (↑ ↓ scroll · Esc or F1 close)", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(help_text(), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss()

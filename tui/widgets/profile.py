"""The profile pane: the user's counts, top genres and recent logged events (undo with ``x``)."""

from __future__ import annotations

from recsys_tui.common.text import plain
from recsys_tui.core.results import Profile, UserSummary
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

SHOWN = 8


def count(n: int, noun: str) -> str:
    """``1 rating``, ``2 ratings``, ``1 click``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class ProfilePane(VerticalScroll):
    """Counts, liked genres and the newest events; undo with ``x``."""

    def compose(self):
        yield Static("", id="profile-text")

    def show(self, profile: Profile, user: UserSummary | None = None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        who = f"user {profile.user_id}"
        if user is not None and not user.new:
            who += plain(f" · {user.age} {user.gender} {user.occupation}")
        elif user is not None:
            who += " · new user"
        text.append(who, style="bold")
        counts = ", ".join(count(n, kind) for kind, n in profile.counts.items() if n)
        text.append(f"\nMovieLens: {count(profile.n_train_ratings, 'rating')}")
        text.append(f"\nhere: {counts or 'nothing yet'}")
        if profile.top_genres:
            text.append("\nlikes: " + plain(", ".join(f"{g} ({n})" for g, n in profile.top_genres)))
        text.append("\nrecent (Ctrl+Z undoes the newest):", style="bold")
        if not profile.recent:
            text.append("\n  none yet: rate with 1–5")
        for h in profile.recent[:SHOWN]:
            what = f"★{h.rating:g}" if h.rating is not None else h.kind
            text.append(f"\n  {what:<5} ")
            text.append(plain(h.title))
        self.query_one("#profile-text", Static).update(text, layout=False)  # fixed height: no layout pass

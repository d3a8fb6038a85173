"""The profile pane: the user's counts, top genres and recent logged events (undo with ``x``)."""

from __future__ import annotations

from recsys_tui.core.results import Profile, UserSummary
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

SHOWN = 8


class ProfilePane(VerticalScroll):
    """Counts, liked genres and the newest events; undo with ``x``."""

    def compose(self):
        yield Static("", id="profile-text")

    def show(self, profile: Profile, user: UserSummary | None = None) -> None:
        text = Text()
        who = f"user {profile.user_id}"
        if user is not None and not user.new:
            who += f" · {user.age} {user.gender} {user.occupation}"
        elif user is not None:
            who += " · new user"
        text.append(who, style="bold")
        counts = ", ".join(f"{n} {kind}s" for kind, n in profile.counts.items() if n)
        text.append(f"\n{profile.n_train_ratings} MovieLens ratings · here: {counts or 'nothing yet'}")
        if profile.top_genres:
            text.append("\nlikes: " + ", ".join(f"{g} ({n})" for g, n in profile.top_genres))
        text.append("\nrecent (x undoes the newest):", style="bold")
        if not profile.recent:
            text.append("\n  none yet: rate with 1–5")
        for h in profile.recent[:SHOWN]:
            what = f"★{h.rating:g}" if h.rating is not None else h.kind
            text.append(f"\n  {what:<5} {h.title}")
        self.query_one("#profile-text", Static).update(text, layout=False)  # fixed height: no layout pass

"""The person's preferences (theme, last user, layout): one small JSON file in the home.

Read leniently (a missing, unreadable or malformed file gives the defaults and the app says so once),
written atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from recsys_tui.common.fsutil import atomic_write_json

LAYOUTS = ("auto", "compact", "wide")
"""``auto`` follows the terminal size; ``compact`` is the 80×24 layout at any size; ``wide`` the
120×40 one."""
MAX_BYTES = 64_000


@dataclass(frozen=True)
class Preferences:
    theme: str | None = None
    last_user: int | None = None
    layout: str = "auto"

    def to_json(self) -> dict:
        return asdict(self)


def load(path: Path | None) -> tuple[Preferences, str | None]:
    """The saved preferences, and a one-line problem when the file could not be used."""
    if path is None or not path.exists():
        return Preferences(), None
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return Preferences(), f"{path.name} is not a small file; using defaults"
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Preferences(), f"cannot read {path.name} ({type(exc).__name__}); using defaults"
    if not isinstance(raw, dict):
        return Preferences(), f"{path.name} is not a JSON object; using defaults"
    prefs = Preferences()
    theme, user, layout = raw.get("theme"), raw.get("last_user"), raw.get("layout")
    if isinstance(theme, str) and 0 < len(theme) <= 64:
        prefs = replace(prefs, theme=theme)
    if isinstance(user, int) and not isinstance(user, bool) and 0 < user < 2**31:
        prefs = replace(prefs, last_user=user)
    if layout in LAYOUTS:
        prefs = replace(prefs, layout=layout)
    return prefs, None


def save(path: Path | None, prefs: Preferences) -> None:
    """Write ``prefs`` atomically (no-op without a path: tests and throw-away demos)."""
    if path is not None:
        atomic_write_json(path, prefs.to_json())

"""The consoles every command prints through: outside text is shown, never obeyed.

``SafeConsole`` is a Rich console on which a plain string is never parsed as markup or emoji codes
and has its control characters replaced by visible placeholders (``common.text.clean``) before any
renderer sees it — table cells, titles, status lines and notices alike. Styling is given with
``style=`` or ``rich.text.Text`` built by ``note`` / ``styled``, never by markup in a string.
JSON goes out with every control or reordering character escaped as ``\\uXXXX`` (``json_text``).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from recsys_tui.common.text import clean, has_control, plain


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as JSON, readable Unicode kept, every control/bidi/invisible character ``\\u``-escaped.

    JSON only ever holds such characters inside strings, where ``\\uXXXX`` is the same value, so the
    data round-trips exactly while no raw control byte reaches a terminal or a pipe.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    if not has_control(text):
        return text
    return "".join(_json_escape(ch) if ch not in "\n\t" and has_control(ch) else ch for ch in text)


class SafeConsole(Console):
    """A ``rich.console.Console`` that treats every string it is given as untrusted text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        kwargs["markup"] = False
        kwargs["emoji"] = False
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Plain text with control characters shown as placeholders; markup and emoji never parsed."""
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(clean(text), **kwargs)

    def print_json(self, json: str | None = None, *, data: Any = None, indent: int | None = 2,
                   **_ignored: Any) -> None:
        """Print JSON (a string or ``data``) with control characters escaped, no highlighting."""
        import json as _json

        obj = _json.loads(json) if json is not None else data
        self.print(Text(json_text(obj, indent)), soft_wrap=True)


def note(text: str, mark: str = "·") -> Text:
    """A progress/status notice: a dim ``mark`` then ``text`` as plain, cleaned text."""
    return Text.assemble((mark, "dim"), " ", plain(text) if "\n" not in text else clean(text))


def styled(text: str, style: str) -> Text:
    """``text`` cleaned and shown in ``style`` (never parsed as markup)."""
    return Text(clean(text), style=style)

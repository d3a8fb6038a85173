"""Untrusted text is shown, never obeyed: the one place that makes outside text safe to render.

Every string that comes from outside the program — titles, genres and occupations from a data set,
search text a person types, paths, URLs, error replies from a server — goes through this module
before a renderer sees it:

- ``clean(s)`` replaces control characters (C0 except tab/newline, DEL, C1, bidi overrides and
  isolates, other invisible format characters that reorder or hide text) with visible placeholders,
  so no escape sequence, clipboard write (OSC 52), hyperlink (OSC 8) or screen clear reaches a terminal;
- ``plain(s)`` is ``clean`` on one line (newlines and tabs shown as placeholders too), for table
  cells, status lines and titles;
- ``escape_markup(s)`` makes a string inert for Rich/Textual markup (``[/]``, ``[link=…]``,
  ``[@click=…]`` are shown as typed, never interpreted);
- ``csv_cell(v)`` neutralises spreadsheet formulas (``=``, ``+``, ``-``, ``@``, tab, CR at the start)
  on top of ``plain``.

Renderers that accept a ``rich.text.Text`` take ``Text(plain(s))`` (a Text is never parsed as markup);
the few that only take markup strings take ``escape_markup(plain(s))``. It imports only the standard
library so every room may use it.
"""

from __future__ import annotations

import unicodedata

# Visible stand-ins: the Unicode "control pictures" block for C0 and DEL, a generic marker otherwise.
_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
_C0_PICTURES[0x7F] = "\u2421"  # ␡
_OTHER = "\ufffd"  # �: C1 controls, bidi overrides, invisible format characters

# Bidi embeddings/overrides/isolates and marks that can reorder what a person sees (Trojan Source).
_BIDI = {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F,
         0x061C}


def _is_hostile(ch: str) -> bool:
    code = ord(ch)
    if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F or code in _BIDI:
        return True
    category = unicodedata.category(ch)
    # Cc: controls; Cf: invisible format characters (zero-width joiner is kept: emoji need it);
    # Cs: lone surrogates cannot be encoded; Co/Cn: private-use and unassigned are shown as-is.
    return category == "Cs" or (category == "Cf" and code not in (0x200D, 0xFE0F))


def _placeholder(ch: str) -> str:
    code = ord(ch)
    return _C0_PICTURES.get(code, _OTHER)


def clean(text: object, *, keep_newlines: bool = True) -> str:
    """``text`` as a string with every control or reordering character replaced by a visible one.

    Tab and newline are kept when ``keep_newlines`` (multi-line notices); everything else in C0,
    DEL, C1, bidi controls and invisible format characters becomes a placeholder (␛ for ESC).
    """
    s = text if isinstance(text, str) else str(text)
    if s.isprintable() and s.isascii():
        return s
    out = []
    for ch in s:
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif _is_hostile(ch):
            out.append(_placeholder(ch))
        else:
            out.append(ch)
    return "".join(out)


def plain(text: object) -> str:
    """One line, safe for a terminal cell: ``clean`` with newlines and tabs shown as placeholders."""
    return clean(text, keep_newlines=False)


def escape_markup(text: str) -> str:
    """Make ``text`` inert for Rich/Textual console markup: every ``[`` is escaped."""
    return text.replace("\\", "\\\\").replace("[", "\\[")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """A CSV field that no spreadsheet evaluates: numbers as they are, text cleaned and defused.

    Text that starts like a formula gets a leading apostrophe (OWASP's CSV-injection advice); a
    number (int/float) is written unchanged so the file stays machine-readable.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    s = plain(value)
    if s.startswith(_FORMULA_START):
        return "'" + s
    return s


def has_control(text: str) -> bool:
    """Whether ``text`` holds a character ``clean`` would replace (newline and tab excepted)."""
    return any(_is_hostile(ch) for ch in text if ch not in "\n\t")

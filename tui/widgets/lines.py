"""Fast line rendering for the app's tables: a row is one string in one style, cut to its cells.

Rich's Text/Padding machinery costs about a millisecond a row; building the line as a string with
``rich.cells`` widths and emitting one ``Segment`` is a few microseconds, which is what lets a
rating repaint its ten rows well inside a frame. Callers pass text already made safe with
``recsys_tui.common.text.plain`` (one line, no control characters).
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

ELLIPSIS = "…"


def fit(text: str, width: int, align: str = "left") -> str:
    """``text`` in exactly ``width`` cells: cut with an ellipsis, padded left or right."""
    if width <= 0:
        return ""
    size = cell_len(text)
    if size > width:
        return set_cell_size(text, width - 1) + ELLIPSIS
    pad = " " * (width - size)
    return pad + text if align == "right" else text + pad


def strip(text: str, width: int, style: Style) -> Strip:
    """One line of ``width`` cells in ``style``."""
    return Strip([Segment(fit(text, width), style)], width)

"""Table, JSON and CSV output for command results (stdout stays machine-readable)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from recsys_tui.common.text import csv_cell, plain
from recsys_tui.console import json_text

FORMATS = ("table", "json", "csv")
_WHOLE = {"version"}
"""Columns whose values are names: never cut or wrapped in a table."""


def emit(console: Console, columns: Sequence[str], rows: Sequence[Sequence], fmt: str,
         title: str | None = None) -> None:
    """Print ``rows`` as a rich table, a JSON list of objects, or CSV with a header.

    Every value is outside text: table cells and the title are cleaned ``Text`` (never markup), JSON
    escapes control characters, CSV cells are cleaned and formula-defused (``common.text.csv_cell``).
    """
    if fmt == "json":
        console.print(Text(json_text([dict(zip(columns, r, strict=True)) for r in rows])), soft_wrap=True)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        console.file.write(buf.getvalue())
        console.file.flush()
    else:
        table = Table(title=None if title is None else Text(plain(title)), title_justify="left")
        for col in columns:
            table.add_column(plain(col), justify="right" if col in ("rank", "score", "ms") else "left",
                             no_wrap=col in _WHOLE)
        for row in rows:
            table.add_row(*(Text("" if v is None else plain(v)) for v in row))
        console.print(table)


def timing_line(steps: dict[str, float], total: float) -> str:
    parts = " · ".join(f"{k} {v:.3f}" for k, v in steps.items())
    return f"{parts} · total {total:.3f} ms"

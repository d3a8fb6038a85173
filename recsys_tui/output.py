"""Table, JSON and CSV output for command results (stdout stays machine-readable)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "csv")


def emit(console: Console, columns: Sequence[str], rows: Sequence[Sequence], fmt: str,
         title: str | None = None) -> None:
    """Print ``rows`` as a rich table, a JSON list of objects, or CSV with a header."""
    if fmt == "json":
        console.print_json(json.dumps([dict(zip(columns, r, strict=True)) for r in rows]))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        console.file.write(buf.getvalue())
        console.file.flush()
    else:
        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col, justify="right" if col in ("rank", "score", "ms") else "left")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


def timing_line(steps: dict[str, float], total: float) -> str:
    parts = " · ".join(f"{k} {v:.3f}" for k, v in steps.items())
    return f"{parts} · total {total:.3f} ms"

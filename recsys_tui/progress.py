"""Rich progress displays for downloads and staged work (stderr, so stdout stays parseable)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from recsys_tui.common.text import plain
from recsys_tui.console import note
from recsys_tui.data.sources import Progress as ProgressFn


@contextlib.contextmanager
def download_bar(console: Console, label: str = "download") -> Iterator[ProgressFn]:
    """A byte progress bar; yields the callback ``data.sources`` expects."""
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@contextlib.contextmanager
def stages(console: Console, title: str) -> Iterator:
    """A spinner line whose text follows the current stage; yields ``say(stage)``."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(title, total=None)

        def say(stage: str) -> None:
            console.print(note(stage))
            bar.update(task, description=plain(f"{title}: {stage}"))

        yield say

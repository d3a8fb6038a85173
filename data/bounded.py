"""Bounded input: every file the program reads from outside is a regular file of a known size.

A FIFO or a link to ``/dev/zero`` is refused before a byte is read (the open never blocks), a file
larger than its limit is refused with the memory it would need, and a zip member is decompressed
through a counter so a small archive cannot expand without bound.
"""

from __future__ import annotations

import contextlib
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from recsys_tui.common.errors import DataError

MiB = 1 << 20
MAX_TABLE_BYTES = 64 * MiB
"""A MovieLens table (u.data ≈ 2 MB, u.item, u.user …) or a zip member: far above the real sizes."""
MAX_ARCHIVE_BYTES = 256 * MiB
"""A dataset zip or wheel given as a source (GroupLens' zip is 5 MB, RecBole's wheel ≈ 2 MB)."""
MAX_RATINGS_BYTES = 512 * MiB
"""A ``train --ratings`` file (about 25 million rows)."""
BYTES_PER_ROW_IN_MEMORY = 80
"""Parsing keeps four 8-byte columns while reading, then numpy copies and a sparse matrix."""
TYPICAL_LINE_BYTES = 20
"""``196\\t242\\t3\\t881250949\\n`` — what a ratings row takes on disk."""


def human(n: float) -> str:
    """``1.5 GB``-style size."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"


def memory_estimate(size: int) -> int:
    """Bytes of memory a ratings file of ``size`` bytes needs while it is parsed and trained on."""
    return size // TYPICAL_LINE_BYTES * BYTES_PER_ROW_IN_MEMORY


@contextlib.contextmanager
def open_regular(path: Path, limit: int, what: str = "file") -> Iterator[tuple[BinaryIO, int]]:
    """Open ``path`` for reading if it is a regular file of at most ``limit`` bytes: (file, size).

    The open is non-blocking (a FIFO cannot hang it) and the type is checked on the opened file
    (a swapped-in link cannot slip past a check made before the open).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                    or stat.S_ISBLK(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode)
                    else "not a regular file")
            raise DataError(f"{path}: is {kind}; give a regular {what}")
        if info.st_size > limit:
            raise DataError(f"{path}: {human(info.st_size)} is larger than the {human(limit)} a {what} may "
                            f"be (reading it would need about {human(memory_estimate(info.st_size))} of "
                            "memory)")
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh, info.st_size


def read_bounded(path: Path, limit: int = MAX_TABLE_BYTES, what: str = "file") -> bytes:
    """The whole of a regular file of at most ``limit`` bytes (refused otherwise, never read)."""
    with open_regular(path, limit, what) as (fh, _size):
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while being read
        raise DataError(f"{path}: grew beyond {human(limit)} while being read")
    return data


def read_member(zf: zipfile.ZipFile, name: str, origin: str, limit: int = MAX_TABLE_BYTES) -> bytes:
    """One archive member, decompressed through a counter: at most ``limit`` bytes, whatever the
    archive's header claims (a zip bomb stops at the limit)."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise DataError(f"{origin}: {name} is missing from the archive") from None
    if info.file_size > limit:
        raise DataError(f"{origin}: {name} would expand to {human(info.file_size)}, more than the "
                        f"{human(limit)} allowed")
    chunks, total = [], 0
    try:
        with zf.open(info) as member:
            while block := member.read(1 << 16):
                total += len(block)
                if total > limit:
                    raise DataError(f"{origin}: {name} expands beyond {human(limit)}; refusing it")
                chunks.append(block)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DataError(f"{origin}: {name} is corrupt ({exc})") from None
    return b"".join(chunks)

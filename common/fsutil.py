"""Small file-system helpers: hashing and atomic publication of files and folders."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the npz helpers import NumPy when called: hashing and atomic writes need none
    import numpy as np


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of atomically written files: what ``open()`` would give now (mkstemp alone makes 0600).

    Read at each write, so the CLI's private umask (0077: the home is the person's own) applies.
    """
    return 0o666 & ~_umask()


FILE_MODE = file_mode()
"""The mode under the umask at import time (kept for callers that only compare)."""


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), file_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj) -> None:
    """JSON with sorted keys, written atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Uncompressed npz of plain numeric arrays, written atomically (never object arrays)."""
    import numpy as np

    for name, arr in arrays.items():
        if np.asarray(arr).dtype == object:
            raise TypeError(f"refusing to save object array {name!r}: it would need pickle")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Load every array of an npz file, refusing pickled content.

    A truncated or damaged archive raises ``ValueError`` (numpy lets ``zipfile.BadZipFile`` and
    ``EOFError`` through, which callers would not recognise as a bad file).
    """
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{path.name} is not a valid npz archive ({exc})") from None


def map_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an uncompressed npz (what ``save_npz`` writes), mapped read-only from the
    file: nothing is copied, pages are read when used (a 200 MB training matrix opens at once).

    Object (pickled) arrays are refused; a damaged archive raises ``ValueError``; an archive with
    compressed members is read as ``load_npz`` reads it.
    """
    import mmap
    import struct

    import numpy as np

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
        if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
            return load_npz(path)
        if not infos:
            return {}
        with open(path, "rb") as fh:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        out = {}
        for info in infos:
            local = mm[info.header_offset:info.header_offset + 30]
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"member {info.filename} has no local header")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            end = start + info.file_size
            head = io.BytesIO(mm[start:min(end, start + 65536)])
            version = np.lib.format.read_magic(head)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(head)
            if dtype.hasobject:
                raise ValueError(f"{info.filename} holds objects (it would need pickle)")
            offset = start + head.tell()
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if end > len(mm) or offset + size > end:
                raise ValueError(f"member {info.filename} is truncated")
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            out[name] = np.ndarray(shape, dtype, buffer=mm, offset=offset, order="F" if fortran else "C")
        return out
    except (zipfile.BadZipFile, EOFError, struct.error) as exc:
        raise ValueError(f"{path.name} is not a valid npz archive ({exc})") from None


@contextlib.contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder beside its final place; removed unless the caller renamed it away."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def fsync_tree(path: Path) -> None:
    """fsync every file of a folder and the folder itself, before it is renamed into place."""
    for file in path.rglob("*"):
        if file.is_file():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)


def publish_new_dir(staged: Path, final: Path) -> bool:
    """Rename a complete staged folder to ``final`` unless ``final`` exists; never replaces one.

    Returns ``False`` when another writer already holds the name (rename(2) refuses a non-empty
    target), so the caller can pick the next name.
    """
    fsync_tree(staged)
    if final.exists():
        return False
    try:
        os.rename(staged, final)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    _fsync_dir(final.parent)
    return True


def publish_dir(staged: Path, final: Path) -> None:
    """Rename a complete staged folder to ``final``; an older ``final`` is replaced whole."""
    fsync_tree(staged)
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)
    _fsync_dir(final.parent)

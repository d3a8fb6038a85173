"""Where MovieLens-100K comes from: GroupLens' zip, the RecBole 1.2.1 wheel on PyPI, or a local path.

A source yields a parsed, unverified ``Dataset``; ``data.fetch`` verifies and caches it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from recsys_tui.common.errors import DataError
from recsys_tui.data.bounded import (
    MAX_ARCHIVE_BYTES,
    MAX_TABLE_BYTES,
    open_regular,
    read_bounded,
    read_member,
)
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.parsers import (
    parse_recbole_inter,
    parse_recbole_item,
    parse_recbole_user,
    parse_udata,
    parse_uitem,
    parse_uuser,
)

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None)."""

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"  # the checksum the zip is published with
RECBOLE_REQUIREMENT = "recbole==1.2.1"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
RECBOLE_PREFIX = "recbole/dataset_example/ml-100k/"
NETWORK_TIMEOUT_S = 15.0


class SourceUnavailable(DataError):
    """The source could not be reached (no network, host down); another source may work."""


def _member(zf: zipfile.ZipFile, name: str, origin: str, encoding: str) -> str:
    try:
        return read_member(zf, name, origin).decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{origin}: {name} is not {encoding} text ({exc.reason})") from None


def _open_zip(path: Path, origin: str) -> zipfile.ZipFile:
    with open_regular(path, MAX_ARCHIVE_BYTES, "zip archive"):
        pass  # a regular file of sane size: only then is it handed to zipfile
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{origin}: not a readable zip archive ({exc})") from None


def read_grouplens_zip(path: Path, origin: str | None = None) -> Dataset:
    """Parse GroupLens' ``ml-100k.zip`` (``ml-100k/u.data``, ``u.item``, ``u.user``)."""
    origin = origin or str(path)
    with _open_zip(path, origin) as zf:
        names = zf.namelist()
        prefix = next((n[: -len("u.data")] for n in names if n.endswith("u.data")), None)
        if prefix is None:
            if any(n.startswith(RECBOLE_PREFIX) for n in names):
                return read_recbole_wheel(path, origin)
            raise DataError(f"{origin}: no u.data in the archive (not MovieLens-100K)")
        return Dataset(
            parse_udata(_member(zf, prefix + "u.data", origin, "latin-1"), f"{origin}:u.data"),
            parse_uitem(_member(zf, prefix + "u.item", origin, "latin-1"), f"{origin}:u.item"),
            parse_uuser(_member(zf, prefix + "u.user", origin, "latin-1"), f"{origin}:u.user"),
            source=origin,
        )


def read_recbole_wheel(path: Path, origin: str | None = None) -> Dataset:
    """Parse ML-100K out of RecBole's wheel (``recbole/dataset_example/ml-100k/``)."""
    origin = origin or str(path)
    with _open_zip(path, origin) as zf:
        base = RECBOLE_PREFIX + "ml-100k"
        return Dataset(
            parse_recbole_inter(_member(zf, base + ".inter", origin, "utf-8"), f"{origin}:.inter"),
            parse_recbole_item(_member(zf, base + ".item", origin, "utf-8"), f"{origin}:.item"),
            parse_recbole_user(_member(zf, base + ".user", origin, "utf-8"), f"{origin}:.user"),
            source=origin,
        )


def _read_text(path: Path, encoding: str) -> str:
    try:
        return read_bounded(path, MAX_TABLE_BYTES, "MovieLens table").decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason})") from None


def read_local(path: Path) -> Dataset:
    """A user-given file or folder: GroupLens zip or folder, RecBole wheel or folder."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if not path.is_dir():
        return read_grouplens_zip(path)  # refuses a FIFO or device with one clear line
    if (path / "u.data").is_file():
        return Dataset(
            parse_udata(_read_text(path / "u.data", "latin-1"), str(path / "u.data")),
            parse_uitem(_read_text(path / "u.item", "latin-1"), str(path / "u.item")),
            parse_uuser(_read_text(path / "u.user", "latin-1"), str(path / "u.user")),
            source=str(path),
        )
    if (path / "ml-100k.inter").is_file():
        return Dataset(
            parse_recbole_inter(_read_text(path / "ml-100k.inter", "utf-8"), str(path / "ml-100k.inter")),
            parse_recbole_item(_read_text(path / "ml-100k.item", "utf-8"), str(path / "ml-100k.item")),
            parse_recbole_user(_read_text(path / "ml-100k.user", "utf-8"), str(path / "ml-100k.user")),
            source=str(path),
        )
    raise DataError(f"{path}: holds neither u.data (GroupLens) nor ml-100k.inter (RecBole)")


def download(url: str, dest: Path, progress: Progress | None, timeout: float) -> None:
    """Stream ``url`` to ``dest`` reporting progress; a partial download raises ``DataError``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            while block := resp.read(1 << 16):
                out.write(block)
                done += len(block)
                if done > MAX_ARCHIVE_BYTES:
                    raise DataError(f"download of {url} exceeds {MAX_ARCHIVE_BYTES >> 20} MB; refusing it")
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(f"cannot download {url}: {reason}") from None
    if total is not None and done != total:
        raise DataError(f"download of {url} is partial: {done} of {total} bytes")


def fetch_grouplens(workdir: Path, progress: Progress | None = None) -> Dataset:
    """Download GroupLens' zip, check its published md5, parse it."""
    dest = workdir / "ml-100k.zip"
    download(GROUPLENS_URL, dest, progress, NETWORK_TIMEOUT_S)
    md5 = hashlib.md5(dest.read_bytes(), usedforsecurity=False).hexdigest()
    if md5 != GROUPLENS_MD5:
        raise DataError(f"{GROUPLENS_URL}: checksum {md5} does not match the published {GROUPLENS_MD5}")
    return read_grouplens_zip(dest, GROUPLENS_URL)


def fetch_pypi(workdir: Path, progress: Progress | None = None) -> Dataset:
    """Download the RecBole 1.2.1 wheel with the user's own pip (so its proxies/mirrors apply)."""
    if progress:
        progress(0, None)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--disable-pip-version-check",
           "-d", str(workdir), RECBOLE_REQUIREMENT]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceUnavailable(f"pip download of {RECBOLE_REQUIREMENT} failed: {exc}") from None
    wheels = sorted(workdir.glob("recbole-1.2.1-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SourceUnavailable(f"pip could not download {RECBOLE_REQUIREMENT}: {last}")
    wheel = wheels[0]
    if progress:
        size = wheel.stat().st_size
        progress(size, size)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != RECBOLE_WHEEL_SHA256:
        raise DataError(f"{wheel.name}: sha256 {digest[:12]}… is not RecBole 1.2.1's wheel")
    return read_recbole_wheel(wheel, f"PyPI {RECBOLE_REQUIREMENT} wheel")


def from_source(source: str, progress: Progress | None = None) -> Dataset:
    """Parse ML-100K from ``auto``, ``grouplens``, ``pypi`` or a local path (unverified)."""
    if source not in ("auto", "grouplens", "pypi"):
        return read_local(Path(source))
    with tempfile.TemporaryDirectory(prefix="recsys-tui-fetch-") as tmp:
        work = Path(tmp)
        if source == "grouplens":
            return fetch_grouplens(work, progress)
        if source == "pypi":
            return fetch_pypi(work, progress)
        errors = []
        for fetcher in (fetch_grouplens, fetch_pypi):
            try:
                return fetcher(work, progress)
            except SourceUnavailable as exc:
                errors.append(str(exc))
        raise DataError(
            "no network source reachable ("
            + "; ".join(errors)
            + "); download ml-100k.zip elsewhere and run `recsys-tui data fetch --source PATH`"
        )

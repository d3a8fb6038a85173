"""Read and fetch the MovieLens releases other than ML-100K (``data.registry`` lists them).

A release is read from GroupLens' zip or from its unpacked folder; a network fetch downloads the
zip and checks it against the md5 GroupLens publishes beside it (``<zip>.md5``).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import DataError
from recsys_tui.data.formats import (
    anonymous_users,
    decode,
    parse_movies_csv,
    parse_movies_dat,
    parse_ratings_csv,
    parse_ratings_dat,
    parse_users_dat,
)
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.registry import DatasetSpec
from recsys_tui.data.sources import NETWORK_TIMEOUT_S, Progress, SourceUnavailable, download

Reader = Callable[[str], bytes | None]
"""Returns a member file's bytes (by base name) or None when the release has no such file."""


def _from_zip(path: Path, origin: str) -> tuple[zipfile.ZipFile, Reader]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{origin}: not a readable zip archive ({exc})") from None
    by_base = {n.rsplit("/", 1)[-1]: n for n in zf.namelist() if not n.endswith("/")}

    def read(base: str) -> bytes | None:
        if base not in by_base:
            return None
        try:
            return zf.read(by_base[base])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{origin}: {base} is corrupt ({exc})") from None

    return zf, read


def _from_folder(folder: Path) -> Reader:
    def read(base: str) -> bytes | None:
        path = folder / base
        if not path.is_file():
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot be read ({exc.strerror})") from None

    return read


def parse_release(spec: DatasetSpec, read: Reader, origin: str) -> Dataset:
    """Parse one release's files (``ratings``, ``movies``, and ``users`` where published)."""
    ext = "csv" if spec.layout == "csv" else "dat"

    def text(base: str, required: bool = True) -> str | None:
        raw = read(base)
        if raw is None:
            if required:
                raise DataError(f"{origin}: {base} is missing (not a {spec.name} release?)")
            return None
        return decode(raw, spec.encoding, f"{origin}:{base}")

    ratings_text = text(f"ratings.{ext}")
    movies_text = text(f"movies.{ext}")
    assert ratings_text is not None and movies_text is not None
    if ext == "csv":
        inter = parse_ratings_csv(ratings_text, f"{origin}:ratings.csv", spec.half_stars)
        movies = parse_movies_csv(movies_text, f"{origin}:movies.csv")
    else:
        inter = parse_ratings_dat(ratings_text, f"{origin}:ratings.dat", spec.half_stars)
        movies = parse_movies_dat(movies_text, f"{origin}:movies.dat")
    del ratings_text
    users_text = text("users.dat", required=spec.has_users_table)
    users = parse_users_dat(users_text, f"{origin}:users.dat") if users_text else anonymous_users(inter)
    unknown = np.setdiff1d(np.unique(inter.item_ids), np.fromiter(movies, np.int64, len(movies)))
    if len(unknown):
        raise DataError(f"{origin}: ratings name movie {int(unknown[0])}, which the movie file lacks "
                        f"({len(unknown)} such ids)")
    return Dataset(inter, movies, users, source=origin)


def read_release(spec: DatasetSpec, path: Path) -> Dataset:
    """A user-given zip or unpacked folder of ``spec``'s release."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return parse_release(spec, _from_folder(path), str(path))
    zf, read = _from_zip(path, str(path))
    with zf:
        return parse_release(spec, read, str(path))


def _published_md5(spec: DatasetSpec) -> str | None:
    """GroupLens' ``<zip>.md5`` (``MD5 (ml-25m.zip) = …`` or ``<hex>  ml-25m.zip``), None if absent."""
    try:
        with urllib.request.urlopen(spec.md5_url, timeout=NETWORK_TIMEOUT_S) as resp:
            body = resp.read(4096).decode("ascii", "replace")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise SourceUnavailable(f"cannot download {spec.md5_url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise SourceUnavailable(f"cannot download {spec.md5_url}: {getattr(exc, 'reason', exc)}") from None
    match = re.search(r"\b[0-9a-f]{32}\b", body.lower())
    return match.group(0) if match else None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def fetch_release(spec: DatasetSpec, progress: Progress | None = None) -> tuple[Dataset, str | None]:
    """Download ``spec``'s zip from GroupLens; return (parsed data set, the md5 it was checked by)."""
    with tempfile.TemporaryDirectory(prefix="recsys-tui-fetch-") as tmp:
        try:
            published = _published_md5(spec)
            dest = Path(tmp) / spec.zip_name
            download(spec.url, dest, progress, NETWORK_TIMEOUT_S)
        except SourceUnavailable as exc:
            raise DataError(f"GroupLens is not reachable ({exc}); download {spec.zip_name} elsewhere "
                            f"and run `recsys-tui data fetch --dataset {spec.name} --source PATH`") \
                from None
        if published is not None and _md5(dest) != published:
            raise DataError(f"{spec.url}: md5 does not match the published {published}")
        zf, read = _from_zip(dest, spec.url)
        with zf:
            return parse_release(spec, read, spec.url), published

"""Where a data set's canonical cache lives and what its manifest says (no NumPy: ``status``)."""

from __future__ import annotations

import json
from pathlib import Path

from recsys_tui.common.errors import DataError
from recsys_tui.common.fsutil import sha256_file
from recsys_tui.data.registry import DEFAULT_DATASET, check_name

CACHE_FORMAT = 1
CACHE_FILES = ("ratings.npz", "movies.json", "users.json")
RECOVER = "run `recsys-tui data fetch --force` to fetch it again"


def recover(name: str) -> str:
    """How to write the cache of data set ``name`` again."""
    if name == DEFAULT_DATASET:
        return RECOVER
    return f"run `recsys-tui data fetch --dataset {name} --force` (or `data synth`) to write it again"


def cache_dir(data_root: Path, name: str = DEFAULT_DATASET) -> Path:
    """The folder holding data set ``name`` (``<data>/ml-100k``, ``<data>/ml-25m``, …)."""
    return data_root / check_name(name)


def has_cache(data_root: Path, name: str = DEFAULT_DATASET) -> bool:
    return (cache_dir(data_root, name) / "manifest.json").is_file()


def read_manifest(data_root: Path, name: str = DEFAULT_DATASET) -> dict:
    path = cache_dir(data_root, name) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(
            f"no dataset in {cache_dir(data_root, name)}; run `recsys-tui data fetch`"
            + ("" if name == DEFAULT_DATASET else f" --dataset {name} (or `data synth`)")
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"dataset manifest {path} is unreadable ({exc}); {recover(name)}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != CACHE_FORMAT:
        raise DataError(f"dataset manifest {path} has an unknown format; {recover(name)}")
    return manifest


def verify_files(data_root: Path, manifest: dict, name: str = DEFAULT_DATASET) -> None:
    """Check every cache file against ``manifest``'s sha256 (``DataError`` naming the fix)."""
    folder = cache_dir(data_root, name)
    try:
        for file in CACHE_FILES:
            if sha256_file(folder / file) != manifest["sha256"][file]:
                raise DataError(f"dataset cache file {folder / file} is corrupt; {recover(name)}")
    except DataError:
        raise
    except (OSError, KeyError, TypeError) as exc:
        raise DataError(f"dataset cache in {folder} is unreadable ({exc}); {recover(name)}") from None

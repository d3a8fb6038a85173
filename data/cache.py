"""The canonical on-disk form of the dataset: written once, verified by sha256 on every load."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import DataError
from recsys_tui.common.fsutil import load_npz, publish_dir, save_npz, sha256_file, staging_dir
from recsys_tui.data.cache_manifest import CACHE_FILES as _FILES
from recsys_tui.data.cache_manifest import CACHE_FORMAT as CACHE_FORMAT
from recsys_tui.data.cache_manifest import RECOVER as RECOVER
from recsys_tui.data.cache_manifest import cache_dir as cache_dir
from recsys_tui.data.cache_manifest import has_cache as has_cache
from recsys_tui.data.cache_manifest import read_manifest as read_manifest
from recsys_tui.data.cache_manifest import recover as _recover
from recsys_tui.data.fields import clean_dataset
from recsys_tui.data.movielens import N_ITEMS, N_RATINGS, N_USERS, Dataset, Interactions, Movie, UserInfo
from recsys_tui.data.parsers import ratings_array
from recsys_tui.data.registry import DEFAULT_DATASET
from recsys_tui.data.summary import RatingSummary, load_summary, save_summary, summarise
from recsys_tui.data.tables import load_tables, save_tables

CACHE_NAME = "ml-100k"
RATINGS_FILE = "ratings.npz"
_ARRAYS = ("user_ids", "item_ids", "ratings", "timestamps")
# sha256 of the canonical ratings (see ``content_hash``) of the real MovieLens-100K.
ML100K_CONTENT_HASH = "2e410ef216ca4e1a4e6ac05148fac2ca2972f450c1523d5225dd913d2a1fa58c"


def content_hash(inter: Interactions) -> str:
    """Order-independent sha256 of (user, item, rating, timestamp) rows."""
    return hashlib.sha256(ratings_array(inter).tobytes()).hexdigest()


def verify_ml100k(dataset: Dataset) -> str:
    """Check counts and content hash of MovieLens-100K; return the hash or raise ``DataError``."""
    inter = dataset.interactions
    found = (len(inter), len(np.unique(inter.user_ids)), len(np.unique(inter.item_ids)))
    if found != (N_RATINGS, N_USERS, N_ITEMS):
        raise DataError(
            f"{dataset.source}: expected {N_RATINGS:,} ratings by {N_USERS} users on {N_ITEMS:,} "
            f"items, found {found[0]:,} / {found[1]} / {found[2]:,} (partial or wrong file?)"
        )
    if len(dataset.movies) != N_ITEMS or len(dataset.users) != N_USERS:
        raise DataError(
            f"{dataset.source}: expected {N_ITEMS} movies and {N_USERS} users in the tables, "
            f"found {len(dataset.movies)} and {len(dataset.users)}"
        )
    digest = content_hash(inter)
    if digest != ML100K_CONTENT_HASH:
        raise DataError(
            f"{dataset.source}: content hash {digest[:12]}… does not match MovieLens-100K "
            f"({ML100K_CONTENT_HASH[:12]}…)"
        )
    return digest


def write_cache(data_root: Path, dataset: Dataset, name: str = DEFAULT_DATASET,
                labels: dict | None = None) -> Path:
    """Write the canonical cache atomically (a staged folder renamed into place).

    ``labels`` go into the manifest (``synthetic``, ``half_stars``, ``checked_by``, …).
    """
    final = cache_dir(data_root, name)
    data_root.mkdir(parents=True, exist_ok=True)
    inter = dataset.interactions
    with staging_dir(data_root, name) as tmp:
        save_npz(
            tmp / "ratings.npz",
            user_id=inter.user_ids.astype(np.int32),
            item_id=inter.item_ids.astype(np.int32),
            rating=inter.ratings.astype(np.float32),
            timestamp=inter.timestamps.astype(np.int64),
        )
        movies = [asdict(m) for m in sorted(dataset.movies.values(), key=lambda m: m.item_id)]
        users = [asdict(u) for u in sorted(dataset.users.values(), key=lambda u: u.user_id)]
        (tmp / "movies.json").write_text(json.dumps(movies, ensure_ascii=False))
        (tmp / "users.json").write_text(json.dumps(users))
        manifest = {
            "format": CACHE_FORMAT,
            "name": name,
            "synthetic": bool(dataset.info.get("synthetic", False)),
            "half_stars": bool(dataset.info.get("half_stars", False)),
            **(labels or {}),
            "source": dataset.source,
            "content_hash": dataset.content_hash or content_hash(inter),
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "counts": {
                "ratings": len(inter),
                "users": len(np.unique(inter.user_ids)),
                "items": len(np.unique(inter.item_ids)),
            },
            "sha256": {f: sha256_file(tmp / f) for f in _FILES},
            "cleaned": dataset.info.get("cleaned", {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        # the engine opens on these (``summary``, ``tables``); written now so the first start is
        # as fast as any
        save_summary(tmp, summarise(dataset), manifest["sha256"]["ratings.npz"])
        save_tables(tmp, dataset.movies, dataset.users, _table_digests(manifest))
        publish_dir(tmp, final)
    return final


def load_cache(data_root: Path, verify: bool = True, name: str = DEFAULT_DATASET,
               lazy_ratings: bool = False) -> Dataset:
    """Load the canonical cache; with ``verify`` every file's sha256 is checked first.

    ``lazy_ratings``: the ratings are read (and their file verified) only when first used
    (``LazyInteractions``); the engine opens on the tables and the saved ``summary`` instead.
    """
    folder = cache_dir(data_root, name)
    manifest = read_manifest(data_root, name)
    try:
        if verify:
            for file in _FILES:
                if lazy_ratings and file == RATINGS_FILE:
                    continue
                if sha256_file(folder / file) != manifest["sha256"][file]:
                    raise DataError(f"dataset cache file {folder / file} is corrupt; {_recover(name)}")
        if lazy_ratings:
            inter: Interactions = LazyInteractions(lambda: _read_ratings(folder, manifest, verify, name),
                                                   int(manifest["counts"]["ratings"]))
        else:
            inter = _read_ratings(folder, manifest, False, name)
        digests = _table_digests(manifest)
        tables = load_tables(folder, digests)  # the same tables as columns, checked and cleaned
        if tables is None:
            movies = {
                m["item_id"]: Movie(m["item_id"], m["title"], m["year"], tuple(m["genres"]))
                for m in json.loads((folder / "movies.json").read_text())
            }
            users = {u["user_id"]: UserInfo(**u) for u in json.loads((folder / "users.json").read_text())}
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"dataset cache in {folder} is unreadable ({exc}); {_recover(name)}") from None
    meta = {"source": manifest.get("source", "unknown"), "content_hash": manifest.get("content_hash", ""),
            "info": manifest}
    if tables is not None:
        dataset, cleaned_now = Dataset(inter, tables[0], tables[1], **meta), tables[2]
    else:
        if verify:  # the JSON as hashed: the next open reads its columns instead
            _save_tables(folder, movies, users, digests)
        dataset, cleaned_now = clean_dataset(Dataset(inter, movies, users, **meta))
    return replace(dataset, info={**manifest, "cleaned_on_load": cleaned_now})


def _table_digests(manifest: dict) -> tuple[str, str]:
    return str(manifest["sha256"]["movies.json"]), str(manifest["sha256"]["users.json"])


def _save_tables(folder: Path, movies: dict[int, Movie], users: dict[int, UserInfo],
                 digests: tuple[str, str]) -> None:
    try:
        save_tables(folder, movies, users, digests)
    except OSError:
        return  # a read-only home: the JSON is parsed again on the next open, nothing else lost


def _read_ratings(folder: Path, manifest: dict, verify: bool, name: str) -> Interactions:
    path = folder / RATINGS_FILE
    try:
        if verify and sha256_file(path) != manifest["sha256"][RATINGS_FILE]:
            raise DataError(f"dataset cache file {path} is corrupt; {_recover(name)}")
        arrays = load_npz(path)
        return Interactions.from_arrays(arrays["user_id"], arrays["item_id"], arrays["rating"],
                                        arrays["timestamp"])
    except DataError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"dataset cache in {folder} is unreadable ({exc}); {_recover(name)}") from None


class LazyInteractions(Interactions):
    """Interactions whose arrays are read on first use (``len`` is known from the manifest)."""

    def __init__(self, read: Callable[[], Interactions], n: int) -> None:
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "_n", n)
        object.__setattr__(self, "_lock", threading.Lock())

    def __getattr__(self, name: str) -> np.ndarray:
        if name not in _ARRAYS:  # only the four arrays are lazy; anything else is truly absent
            raise AttributeError(name)
        with self._lock:
            if name not in self.__dict__:
                loaded = self._read()
                for field in _ARRAYS:
                    object.__setattr__(self, field, getattr(loaded, field))
        return self.__dict__[name]

    def __len__(self) -> int:
        return self._n

    @property
    def loaded(self) -> bool:
        return "user_ids" in self.__dict__


def summary(data_root: Path, dataset: Dataset, name: str = DEFAULT_DATASET) -> RatingSummary:
    """The data set's saved summary, or one computed now (reading the ratings) and saved."""
    folder = cache_dir(data_root, name)
    digest = str(dataset.info.get("sha256", {}).get(RATINGS_FILE, ""))
    found = load_summary(folder, digest, dataset.movies) if digest else None
    if found is not None:
        return found
    made = summarise(dataset)
    if digest:
        try:
            save_summary(folder, made, digest)
        except OSError:
            return made  # a read-only home: computed again on the next open, nothing else lost
    return made

"""Fetch, verify and cache a MovieLens release (ML-100K by default); load any cached data set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import DataError
from recsys_tui.data.cache import content_hash, has_cache, load_cache, verify_ml100k, write_cache
from recsys_tui.data.fields import clean_dataset
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.registry import DEFAULT_DATASET, DatasetSpec, spec
from recsys_tui.data.sources import Progress, from_source


def verify_release(release: DatasetSpec, dataset: Dataset) -> str:
    """Check a release's published counts (where fixed); return its content hash."""
    inter = dataset.interactions
    found = {"ratings": len(inter), "users": len(np.unique(inter.user_ids)),
             "rated movies": len(np.unique(inter.item_ids))}
    expected = {"ratings": release.ratings, "users": release.users, "rated movies": release.movies_rated}
    for what, want in expected.items():
        if want is not None and found[what] != want:
            raise DataError(f"{dataset.source}: {release.name} has {want:,} {what}, found "
                            f"{found[what]:,} (partial or wrong file?)")
    return content_hash(inter)


def _fetch_release(name: str, source: str, progress: Progress | None) -> tuple[Dataset, dict]:
    from recsys_tui.data.releases import fetch_release, read_release

    release = spec(name)
    if source in ("auto", "grouplens"):
        dataset, md5 = fetch_release(release, progress)
        checked = f"GroupLens md5 {md5}" if md5 else "counts (GroupLens publishes no md5)"
    elif source == "pypi":
        raise DataError(f"--source pypi carries only ml-100k, not {name}")
    else:
        dataset = read_release(release, Path(source))
        checked = "counts" if release.ratings is not None else "none published (counts recorded)"
    digest = verify_release(release, dataset)
    labels = {"half_stars": release.half_stars, "checked_by": checked}
    return replace(dataset, content_hash=digest), labels


def fetch(data_root: Path, source: str = "auto", progress: Progress | None = None,
          force: bool = False, name: str = DEFAULT_DATASET) -> tuple[Dataset, bool]:
    """Make sure the verified cache of ``name`` exists; return (dataset, fetched_now).

    Nothing is written unless the whole dataset parsed and verified.
    """
    if has_cache(data_root, name) and not force:
        return load_cache(data_root, name=name), False
    if name == DEFAULT_DATASET:
        dataset = from_source(source, progress)
        dataset = replace(dataset, content_hash=verify_ml100k(dataset))
        labels = {"checked_by": "counts and content hash"}
    else:
        dataset, labels = _fetch_release(name, source, progress)
    dataset, cleaned = clean_dataset(dataset)
    dataset = replace(dataset, info={**dataset.info, "cleaned": cleaned})
    write_cache(data_root, dataset, name, labels)
    return load_cache(data_root, name=name), True


def load(data_root: Path, name: str = DEFAULT_DATASET) -> Dataset:
    """The cached dataset ``name`` (``DataError`` if missing or corrupt)."""
    return load_cache(data_root, name=name)


def half_stars(dataset: Dataset) -> bool:
    """True when the data set rates in half stars (ML-10M and later, their synthetic twins)."""
    return bool(dataset.info.get("half_stars", False))

"""Fetch, verify and cache MovieLens-100K; load it from the cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from recsys_tui.data.cache import has_cache, load_cache, verify_ml100k, write_cache
from recsys_tui.data.fields import clean_dataset
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.sources import Progress, from_source


def fetch(data_root: Path, source: str = "auto", progress: Progress | None = None,
          force: bool = False) -> tuple[Dataset, bool]:
    """Make sure the verified cache exists; return (dataset, fetched_now).

    Nothing is written unless the whole dataset parsed and verified.
    """
    if has_cache(data_root) and not force:
        return load_cache(data_root), False
    dataset, cleaned = clean_dataset(from_source(source, progress))
    digest = verify_ml100k(dataset)
    write_cache(data_root, replace(dataset, content_hash=digest, info={"cleaned": cleaned}))
    return load_cache(data_root), True


def load(data_root: Path) -> Dataset:
    """The cached dataset (``DataError`` if missing or corrupt)."""
    return load_cache(data_root)

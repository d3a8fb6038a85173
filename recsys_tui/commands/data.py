"""``recsys-tui data fetch | info``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from recsys_tui.commands.train import UsageProblem
from recsys_tui.common.errors import DataError
from recsys_tui.common.text import plain
from recsys_tui.context import STATE
from recsys_tui.data.cache import cache_dir, has_cache, read_manifest, verify_ml100k
from recsys_tui.data.fetch import fetch, load
from recsys_tui.data.fields import describe
from recsys_tui.data.movielens import Dataset
from recsys_tui.data.sources import from_source
from recsys_tui.progress import download_bar


def _info_rows(dataset: Dataset, path: str) -> list[tuple[str, str]]:
    inter = dataset.interactions
    n_users, n_items = dataset.n_users, dataset.n_items
    hist = np.bincount(inter.ratings.astype(int), minlength=6)[1:]
    return [
        ("source", dataset.source),
        ("path", path),
        ("ratings", f"{len(inter):,}"),
        ("users", f"{n_users:,}"),
        ("items", f"{n_items:,}"),
        ("sparsity", f"{1 - len(inter) / (n_users * n_items):.2%}"),
        ("ratings 1★…5★", " / ".join(f"{c:,}" for c in hist)),
        ("content sha256", dataset.content_hash),
        ("text fields", cleaned_line(dataset)),
    ]


def _check_against_cache(home, source: str) -> None:
    """Read and verify ``source``; succeed only when it is the data set already cached."""
    cached = load(home.data)
    if source in ("grouplens", "pypi"):
        with download_bar(STATE.err, "ml-100k") as progress:
            candidate = from_source(source, progress)
    else:  # a local file or folder: nothing to download
        candidate = from_source(source)
    digest = verify_ml100k(candidate)
    if digest != cached.content_hash:
        raise DataError(f"{plain(source)} holds a different data set (content sha256 {digest[:12]}…, "
                        f"cache {cached.content_hash[:12]}…); nothing changed — add --force to replace "
                        "the cache")
    STATE.console.print(f"already cached; {plain(candidate.source)} verified and identical: "
                        f"{len(cached.interactions):,} ratings, {cached.n_users:,} users, "
                        f"{cached.n_items:,} items", markup=False)
    STATE.console.print(f"cache: {cache_dir(home.data)}", markup=False)


def cleaned_line(dataset: Dataset) -> str:
    """What the loader cleaned in the data set's text (at fetch, and now if the cache was edited)."""
    line = describe(dataset.info.get("cleaned") or {})
    now = dataset.info.get("cleaned_on_load") or {}
    if any(now.values()):
        line += f"; the cache was edited since: {describe(now)} on load"
    return line


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Fetch, verify and describe MovieLens-100K.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command("fetch")
    def data_fetch(
        source: Annotated[str, typer.Option(
            help="auto (GroupLens, then the RecBole wheel on PyPI), grouplens, pypi, or a local "
                 "zip/wheel/folder path.")] = "auto",
        force: Annotated[bool, typer.Option("--force", help="Fetch again even if cached.")] = False,
    ) -> None:
        """Download (or read) ML-100K, verify counts and content hash, write the cache.

        An explicit ``--source`` is always read and verified, also when a cache exists: without
        ``--force`` it must hold the cached data set (same content hash), else nothing changes and
        the command fails.
        """
        explicit = source not in ("auto", "grouplens", "pypi")
        if explicit and not Path(source).exists():
            raise UsageProblem(f"--source {source}: no such file or folder")
        home = STATE.home.ensure()
        if source != "auto" and not force and has_cache(home.data):
            _check_against_cache(home, source)
            return
        with download_bar(STATE.err, "ml-100k") as progress:
            dataset, fetched = fetch(home.data, source, progress, force)
        verb = "fetched and verified" if fetched else "already cached and verified"
        STATE.console.print(f"{verb}: {len(dataset.interactions):,} ratings, {dataset.n_users} users, "
                            f"{dataset.n_items:,} items from {dataset.source}")
        STATE.console.print(f"text fields: {cleaned_line(dataset)}")
        STATE.console.print(f"cache: {cache_dir(home.data)}")

    @data_app.command("info")
    def data_info() -> None:
        """Source, path, counts, sparsity and the rating histogram of the cached dataset."""
        home = STATE.home
        dataset = load(home.data)
        manifest = read_manifest(home.data)
        from rich.table import Table

        table = Table(show_header=False)
        for key, value in _info_rows(dataset, str(cache_dir(home.data))):
            table.add_row(key, value)
        table.add_row("fetched", str(manifest.get("written_at", "?")))
        STATE.console.print(table)

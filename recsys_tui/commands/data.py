"""``recsys-tui data fetch | synth | list | info``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import escape_markup, plain
from recsys_tui.context import STATE
from recsys_tui.data.registry import DATASET_NAMES, DATASETS, DEFAULT_DATASET, SYNTH_PREFIX, check_name
from recsys_tui.options import command_app
from recsys_tui.usage import UsageProblem

if TYPE_CHECKING:
    from recsys_tui.core.home import Home
    from recsys_tui.data.movielens import Dataset

app = command_app(name="data", help="Fetch, verify, synthesise and describe MovieLens data sets.",
                  no_args_is_help=True)

DatasetOpt = Annotated[str | None, typer.Option(
    "--dataset", help=f"{', '.join(DATASET_NAMES)} or a synthetic set's name "
                      "(default: the global --dataset, else ml-100k).")]


def _home(dataset: str | None) -> Home:
    home = STATE.home
    return home.with_dataset(check_name(dataset)) if dataset else home


def _label(dataset: Dataset) -> str:
    return " (synthetic)" if dataset.info.get("synthetic") else ""


def _info_rows(dataset: Dataset, path: str) -> list[tuple[str, str]]:
    import numpy as np

    from recsys_tui.data.fetch import half_stars

    inter = dataset.interactions
    n_users, n_items = dataset.n_users, dataset.n_items
    halves = half_stars(dataset)
    stars = np.arange(1, 11) / 2 if halves else np.arange(1, 6, dtype=float)
    hist = [int(np.count_nonzero(inter.ratings == s)) for s in stars]
    return [
        ("name", f"{dataset.info.get('name', '?')}{_label(dataset)}"),
        ("source", plain(dataset.source)),
        ("path", path),
        ("ratings", f"{len(inter):,}"),
        ("users", f"{n_users:,}"),
        ("items", f"{n_items:,}"),
        ("sparsity", f"{1 - len(inter) / max(n_users * n_items, 1):.2%}"),
        ("rating scale", "0.5–5 in half stars" if halves else "1–5 whole stars"),
        (f"ratings {stars[0]:g}★…5★", " / ".join(f"{c:,}" for c in hist)),
        ("checked by", str(dataset.info.get("checked_by", "?"))),
        ("content sha256", dataset.content_hash),
        ("text fields", cleaned_line(dataset)),
    ]


def _check_against_cache(home: Home, source: str) -> None:
    """Read and verify ``source``; succeed only when it is the ML-100K data set already cached."""
    from recsys_tui.common.errors import DataError
    from recsys_tui.data.cache import cache_dir, verify_ml100k
    from recsys_tui.data.fetch import load
    from recsys_tui.data.sources import from_source
    from recsys_tui.progress import download_bar

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
    from recsys_tui.data.fields import describe

    line = describe(dataset.info.get("cleaned") or {})
    now = dataset.info.get("cleaned_on_load") or {}
    if any(now.values()):
        line += f"; the cache was edited since: {describe(now)} on load"
    return line


@app.command("fetch")
def fetch_data(
    dataset: DatasetOpt = None,
    source: Annotated[str, typer.Option(
        help="auto (GroupLens; for ml-100k then the RecBole wheel on PyPI), grouplens, pypi, or "
             "a local zip/wheel/folder path in the published layout.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if cached.")] = False,
) -> None:
    """Download (or read) a MovieLens release, verify it, write the canonical cache.

    An explicit ``--source`` is always read and verified, also when an ML-100K cache exists:
    without ``--force`` it must hold the cached data set (same content hash), else nothing
    changes and the command fails.
    """
    from recsys_tui.data.cache import cache_dir, has_cache
    from recsys_tui.data.fetch import fetch
    from recsys_tui.progress import download_bar

    explicit = source not in ("auto", "grouplens", "pypi")
    if explicit and not Path(source).exists():
        raise UsageProblem(f"--source {plain(source)}: no such file or folder")
    home = _home(dataset).ensure()
    if home.dataset not in DATASETS:
        raise UsageProblem(f"{home.dataset!r} is not a published release ({', '.join(DATASET_NAMES)}); "
                           f"synthetic sets are made with `recsys-tui data synth`")
    if home.dataset == DEFAULT_DATASET and source != "auto" and not force and has_cache(home.data):
        _check_against_cache(home, source)
        return
    with download_bar(STATE.err, home.dataset) as progress:
        data, fetched = fetch(home.data, source, progress, force, name=home.dataset)
    verb = "fetched and verified" if fetched else "already cached and verified"
    source = escape_markup(plain(data.source))
    STATE.console.print(f"{verb}: {home.dataset}, {len(data.interactions):,} ratings, "
                        f"{data.n_users:,} users, {data.n_items:,} items from {source}")
    STATE.console.print(f"text fields: {cleaned_line(data)}")
    STATE.console.print(f"cache: {cache_dir(home.data, home.dataset)}")

@app.command("synth")
def synth(
    like: Annotated[str, typer.Option(help="The release whose shape to copy.")] = "ml-25m",
    scale: Annotated[float, typer.Option(help="Users and ratings × scale (items × √scale).")] = 0.1,
    name: Annotated[str | None, typer.Option(help="Cache name (default synth-<like>).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing set of that name.")]
    = False,
) -> None:
    """Generate a SYNTHETIC data set shaped like a MovieLens release; use it as --dataset NAME."""
    import numpy as np

    from recsys_tui.data.cache import cache_dir, has_cache, write_cache
    from recsys_tui.data.synth import generate, shape
    from recsys_tui.progress import stages

    if like not in DATASETS:
        raise UsageProblem(f"--like must be one of {', '.join(DATASET_NAMES)}, got {like[:40]!r}")
    target_name = check_name(name or f"{SYNTH_PREFIX}{like}")
    if target_name in DATASETS:
        raise UsageProblem(f"--name {target_name} is a published release; pick another name")
    if not 0 <= seed < 2**32:
        raise UsageProblem(f"--seed must be 0–2³²−1, got {seed}")
    try:
        shape(like, scale)  # check the scale before any work
    except RecsysError as exc:
        raise UsageProblem(str(exc)) from None
    home = STATE.home.ensure()
    if has_cache(home.data, target_name) and not force:
        raise UsageProblem(f"data set {target_name} already exists; add --force to replace it")
    with stages(STATE.err, f"synth {target_name}") as say:
        say("generate")
        dataset, target = generate(like, scale, seed)
        say("write")
        write_cache(home.data, dataset, target_name, target.labels(seed))
    inter = dataset.interactions
    STATE.console.print(
        f"wrote SYNTHETIC data set {target_name} (shaped like {like} × {scale:g}): "
        f"{len(inter):,} ratings, {len(np.unique(inter.user_ids)):,} users, "
        f"{len(dataset.movies):,} items")
    STATE.console.print(f"cache: {cache_dir(home.data, target_name)}; use it with "
                        f"`recsys-tui --dataset {target_name} train`")

@app.command("list")
def list_sets() -> None:
    """The data sets cached in this home (published and synthetic)."""
    from recsys_tui.data.cache import read_manifest

    root = STATE.home.data
    names = sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()) \
        if root.is_dir() else []
    if not names:
        STATE.console.print("no data sets cached; run `recsys-tui data fetch`")
    for n in names:
        m = read_manifest(root, n)
        counts = m.get("counts", {})
        kind = "synthetic" if m.get("synthetic") else "published"
        STATE.console.print(f"{n}\t{kind}\t{counts.get('ratings', 0):,} ratings\t"
                            f"{counts.get('users', 0):,} users\t{counts.get('items', 0):,} items")

@app.command("info")
def info(dataset: DatasetOpt = None) -> None:
    """Source, path, counts, sparsity and the rating histogram of a cached data set."""
    from rich.table import Table

    from recsys_tui.data.cache import cache_dir, read_manifest
    from recsys_tui.data.fetch import load

    home = _home(dataset)
    data = load(home.data, home.dataset)
    manifest = read_manifest(home.data, home.dataset)

    table = Table(show_header=False)
    for key, value in _info_rows(data, str(cache_dir(home.data, home.dataset))):
        table.add_row(key, value)
    table.add_row("fetched", str(manifest.get("written_at", "?")))
    STATE.console.print(table)

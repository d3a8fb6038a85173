"""First run: fetch the dataset and train the default model, with progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recsys_tui.core import artifacts
from recsys_tui.core.home import Home
from recsys_tui.data.cache_manifest import has_cache

if TYPE_CHECKING:  # fetching and training are imported only when a home needs them (not by status)
    from recsys_tui.data.sources import Progress

Say = Callable[[str], None]
DEFAULT_MODEL = "als"
"""The model a first run trains."""


def needs_setup(home: Home) -> bool:
    """True when the dataset cache or a published model is missing (not when one is corrupt)."""
    return not has_cache(home.data, home.dataset) or artifacts.current_version(home.artifacts) is None


def ensure_ready(home: Home, say: Say, progress: Progress | None = None,
                 log_url: str | None = None) -> None:
    """Fetch ML-100K and train the default model (on it and the event log) if either is missing."""
    from recsys_tui.data.fetch import fetch
    from recsys_tui.models.registry import model_class
    from recsys_tui.training.pipeline import train

    home.ensure()
    if not has_cache(home.data, home.dataset):
        say(f"fetching {home.dataset}")
        dataset, _ = fetch(home.data, "auto", progress, name=home.dataset)
        say(f"verified {len(dataset.interactions):,} ratings from {dataset.source}")
    if artifacts.current_version(home.artifacts) is None:
        factors = model_class(DEFAULT_MODEL).defaults["factors"]
        say(f"training the default model ({DEFAULT_MODEL}, {factors} factors)")
        result = train(home, DEFAULT_MODEL, log_url=log_url)
        say(f"published {result.version} in {result.timings['total_s']:.1f} s")

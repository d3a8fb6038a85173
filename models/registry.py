"""Model names → classes."""

from __future__ import annotations

from typing import Any

from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.base import ModelError, Recommender
from recsys_tui.models.baselines import PopularityRecommender, RandomRecommender
from recsys_tui.models.ease import EASERecommender
from recsys_tui.models.hybrid import HybridRecommender

_MODELS: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (ALSRecommender, EASERecommender, HybridRecommender, PopularityRecommender,
                RandomRecommender)
}
MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)


def register(cls: type[Recommender]) -> type[Recommender]:
    """Add a model class under its ``name`` (used by modules that build on the basic models)."""
    global MODEL_NAMES
    _MODELS[cls.name] = cls
    MODEL_NAMES = tuple(_MODELS)
    return cls


def model_class(name: str) -> type[Recommender]:
    try:
        return _MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(_MODELS)}") from None


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted model."""
    return model_class(name)(**params)

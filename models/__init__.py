"""Recommenders behind one small interface: ALS, EASE, two-stage, popularity, random.

May import ``data`` and ``common`` (and implicit, numpy, scipy); never ``core``. See docs/METHOD.md.
"""

from recsys_tui.models.base import EmbeddingModel, ModelError, Recommender
from recsys_tui.models.registry import MODEL_NAMES, create, model_class

__all__ = ["MODEL_NAMES", "EmbeddingModel", "ModelError", "Recommender", "create", "model_class"]

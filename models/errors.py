"""The models room's errors."""

from __future__ import annotations

from recsys_tui.common.errors import RecsysError


class ModelError(RecsysError):
    """A model could not be built, fitted, saved or loaded."""


class ParamError(ModelError):
    """A hyper-parameter is unknown, of the wrong type or out of bounds (a usage error)."""

    exit_code = 2

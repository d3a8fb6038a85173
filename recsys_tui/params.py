"""``--param key=value`` parsing for model hyper-parameters."""

from __future__ import annotations

import json

from recsys_tui.common.errors import RecsysError
from recsys_tui.models.registry import model_class


class ParamError(RecsysError):
    """A hyper-parameter given on the command line is malformed or unknown."""

    exit_code = 2


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(model: str, pairs: list[str], **shortcuts) -> dict:
    """Merge ``key=value`` pairs and named shortcuts (e.g. ``factors``); check names and types."""
    defaults = model_class(model).defaults
    params: dict = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ParamError(f"--param expects key=value, got {pair!r}")
        params[key] = _value(raw.strip())
    for key, value in shortcuts.items():
        if value is not None:
            params[key] = value
    for key, value in params.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise ParamError(f"model {model!r} has no parameter {key!r} (known: {known})")
        default = defaults[key]
        if isinstance(default, bool) != isinstance(value, bool) or (
            isinstance(default, int | float) and not isinstance(value, int | float)
        ) or (isinstance(default, str) and not isinstance(value, str)):
            raise ParamError(f"{key} must be like {default!r}, got {value!r}")
    return params

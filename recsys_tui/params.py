"""``--param key=value`` parsing for model hyper-parameters.

The values are checked against the model's typed, bounded parameter dataclass
(``recsys_tui.models.params``) before any work starts; a bad key, type or value is a usage error
(exit 2) naming the parameter and what it accepts.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from recsys_tui.models.errors import ParamError
from recsys_tui.models.params import check_params
from recsys_tui.models.registry import model_class

__all__ = ["ParamError", "parse_params"]


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(model: str, pairs: list[str], **shortcuts: Any) -> dict[str, Any]:
    """Merge ``key=value`` pairs and named shortcuts (e.g. ``factors``); check names, types, bounds.

    Returns only the given parameters (the model fills in the rest from its defaults).
    """
    cls = model_class(model)
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ParamError(f"--param expects key=value, got {pair!r}")
        params[key] = _value(raw.strip())
    for key, value in shortcuts.items():
        if value is not None:
            params[key] = value
    checked = asdict(check_params(model, cls.Params, params))
    return {key: checked[key] for key in params}

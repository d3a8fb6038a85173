"""Usage errors (exit 2) and the checks of option values that raise them, shared by the commands."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from recsys_tui.common.errors import RecsysError


class UsageProblem(RecsysError):
    """A flag value the command cannot use."""

    exit_code = 2


def choice(value: str, options: Iterable[str], what: str) -> str:
    """``value`` if it is one of ``options``, else a usage error listing them."""
    options = tuple(options)
    if value not in options:
        raise UsageProblem(f"unknown {what} {value!r}; choose one of {', '.join(options)}")
    return value


def seeds(text: str) -> list[int]:
    """``"42,43"`` → ``[42, 43]``: non-negative integers, at least one."""
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageProblem(f"--seeds expects comma-separated integers, got {text!r}") from None
    if not values or any(s < 0 for s in values):
        raise UsageProblem(f"--seeds expects non-negative integers, got {text!r}")
    return values


def list_length(k: int, top: int = 1000) -> int:
    """``-k``: an integer from 1 to ``top``."""
    if not 1 <= k <= top:
        raise UsageProblem(f"-k must be an integer 1–{top}, got {k}")
    return k


def positive(value: int | None, flag: str) -> int | None:
    """An optional count such as ``--limit``: None or ≥ 1."""
    if value is not None and value < 1:
        raise UsageProblem(f"{flag} must be ≥ 1, got {value}")
    return value


def entity_id(value: int, what: str) -> int:
    """A syntactically valid id (positive, in key range); the engine then says whether the data
    set knows it."""
    from recsys_tui.core.keys import InvalidId, valid_id

    try:
        return valid_id(value, what)
    except InvalidId as exc:
        raise UsageProblem(str(exc)) from None


def output_file(path: Path | None, flag: str = "--json") -> Path | None:
    """Refuse a folder where a file is to be written, before any long work starts."""
    if path is not None and path.is_dir():
        raise UsageProblem(f"{flag} {path} is a folder; give a file name")
    return path

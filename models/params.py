"""Typed, bounded hyper-parameters: one frozen dataclass per model (as LensKit's component configs).

A field is declared with ``param(default, lo, hi)`` (numbers) or ``param(default, choices=…)``
(strings) and documented by the string literal that follows it. ``check_params`` turns a mapping of
raw values (from ``-p key=value``, a saved ``model.json`` or code) into an instance, refusing
unknown keys, wrong types, non-finite numbers and values outside the bounds, with one line that
says which parameter, what was given and what is allowed. Bounds keep every accepted value inside
what the model can compute in reasonable memory and time (e.g. ``factors ≤ 1024``).
"""

from __future__ import annotations

import ast
import inspect
import math
import textwrap
from dataclasses import MISSING, Field, field, fields
from typing import Any, TypeVar

from recsys_tui.models.errors import ParamError

__all__ = ["ParamError", "check_params", "defaults_of", "describe_params", "field_docs",
           "markdown_table", "param"]


def param(default: Any, lo: float | None = None, hi: float | None = None, *,
          lo_open: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field with bounds ``lo ≤ value ≤ hi`` (``lo < value`` with ``lo_open``)."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices})


def _kind(f: Field) -> type:
    hint = f.type if isinstance(f.type, str) else f.type.__name__
    return {"int": int, "float": float, "bool": bool, "str": str}[hint]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else f"{x:g}"


def _describe(f: Field) -> str:
    m = f.metadata
    if m.get("choices"):
        return "one of " + ", ".join(m["choices"])
    kind = _kind(f)
    if kind is bool:
        return "true or false"
    lo, hi = m.get("lo"), m.get("hi")
    what = "an integer" if kind is int else "a number"
    if lo is not None and hi is not None:
        return f"{what} in {'(' if m.get('lo_open') else '['}{_num(lo)}, {_num(hi)}]"
    return what


def _coerce(f: Field, value: Any) -> Any:
    """``value`` as the field's type, or ``None`` when it is not acceptable."""
    kind = _kind(f)
    m = f.metadata
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind is str:
        ok = isinstance(value, str) and (not m.get("choices") or value in m["choices"])
        return value if ok else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                return None
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            return None
    lo, hi = m.get("lo"), m.get("hi")
    if lo is not None and (value < lo or (m.get("lo_open") and value == lo)):
        return None
    if hi is not None and value > hi:
        return None
    return value


P = TypeVar("P")


def check_params(model: str, cls: type[P], values: dict[str, Any]) -> P:
    """An instance of the parameter dataclass ``cls`` from ``values`` (missing keys: defaults)."""
    by_name = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise ParamError(f"model {model!r} has no parameter {unknown[0]!r} (known: {known})")
    out: dict[str, Any] = {}
    for name, value in values.items():
        f = by_name[name]
        checked = _coerce(f, value)
        if checked is None:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ParamError(f"{model}: {name} must be {_describe(f)}, got {shown}")
        out[name] = checked
    return cls(**out)


def defaults_of(cls: type) -> dict[str, Any]:
    """Every field's default value, by name."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def describe_params(cls: type) -> dict[str, str]:
    """Every field's allowed values, by name (for help texts and error messages)."""
    return {f.name: _describe(f) for f in fields(cls)}


def field_docs(cls: type) -> dict[str, str]:
    """Every field's docstring (the string literal after it in the class body), base classes first."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if "__dataclass_fields__" not in vars(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for stmt, nxt in zip(body, [*body[1:], None], strict=True):
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant) \
                    and isinstance(nxt.value.value, str):
                docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


PARAMETERS_DOC_HEAD = """# Model parameters

Every model's hyper-parameters, generated from the parameter dataclasses in `models/` (one per
model, `recsys_tui.models.params`); `tests/test_model_abilities.py` fails when this file and the
code disagree. Give them as `recsys-tui train --model NAME -p key=value` (also `replay -p`,
`tune --online --grid key=v1,v2`). An unknown key, a wrong type, a non-finite number or a value
outside the bounds is refused with one line and exit 2 before any work starts.
"""


def parameters_markdown(models: dict[str, type]) -> str:
    """docs/PARAMETERS.md: the head and one table per model (``markdown_table``)."""
    return PARAMETERS_DOC_HEAD + "".join(f"\n{markdown_table(name, cls)}\n" for name, cls in models.items())


def markdown_table(model: str, cls: type) -> str:
    """A Markdown table of ``cls``' fields: name, default, allowed values, what it does."""
    docs = field_docs(cls)
    lines = [f"### `{model}`", "", "| parameter | default | allowed | what it does |", "|---|---|---|---|"]
    for f in fields(cls):
        default = str(f.default).lower() if isinstance(f.default, bool) else f.default
        lines.append(f"| `{f.name}` | `{default}` | {_describe(f)} | {docs.get(f.name, '')} |")
    if len(lines) == 4:
        lines.append("| — | | | no parameters |")
    return "\n".join(lines)

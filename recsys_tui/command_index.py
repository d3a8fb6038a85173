"""The command line's table of contents, read from the command modules' source, and the root group
that imports a command's module only when that command runs.

Each module in ``recsys_tui/commands/`` declares ``app = command_app()`` and its commands as
module-level functions decorated ``@app.command("name")`` (the docstring is the help), or
``app = command_app(name="group", help="…")`` for a command group. ``command_index`` finds the
names and help texts with ``ast`` — nothing is imported, so ``recsys-tui --help`` loads no NumPy,
FAISS or Textual — and there is no second, hand-kept list to drift: the index *is* the modules.
tests/test_startup.py checks that the index and the commands typer builds from the imported
modules agree.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from gettext import gettext as _
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer ≥ 0.20 vendors click as typer._click
    from typer._click import Command, Context, HelpFormatter
except ImportError:  # pragma: no cover - older typer
    from click import Command, Context, HelpFormatter  # type: ignore[assignment]

PACKAGE = "recsys_tui.commands"
FOLDER = Path(__file__).resolve().parent / "commands"


@dataclass(frozen=True)
class Entry:
    """One top-level command (or command group): its name, the module holding it, its help."""

    name: str
    module: str
    help: str
    group: bool = False


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, name: str) -> str | None:
    return next((_constant(k.value) for k in call.keywords if k.arg == name), None)


def _app_call(tree: ast.Module) -> ast.Call | None:
    """The ``app = command_app(...)`` (or ``typer.Typer(...)``) call at module level."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and any(isinstance(t, ast.Name) and t.id == "app" for t in node.targets)):
            return node.value
    return None


def _commands(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """``(name, help)`` of each module-level function decorated ``@app.command(...)``."""
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                    and deco.func.attr == "command" and isinstance(deco.func.value, ast.Name)
                    and deco.func.value.id == "app"):
                name = _constant(deco.args[0]) if deco.args else _keyword(deco, "name")
                text = _keyword(deco, "help") or ast.get_docstring(node) or ""
                yield name or node.name.lower().replace("_", "-"), text


def module_entries(path: Path) -> list[Entry]:
    """The commands one module's source declares (none when it has no ``app``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    call = _app_call(tree)
    if call is None:
        return []
    module = f"{PACKAGE}.{path.stem}"
    group = _keyword(call, "name")
    if group is not None:
        return [Entry(group, module, _keyword(call, "help") or "", group=True)]
    return [Entry(name, module, text) for name, text in _commands(tree)]


@cache
def command_index() -> tuple[Entry, ...]:
    """Every top-level command, in help order: commands by module name, then the groups."""
    entries = [e for path in sorted(FOLDER.glob("*.py")) if not path.name.startswith("_")
               for e in module_entries(path)]
    return tuple(sorted(entries, key=lambda e: e.group))  # stable: module order within each kind


@cache
def _module_group(module: str) -> TyperGroup:
    """The click group typer builds from one command module's ``app`` (imported now)."""
    return typer.main.get_group(importlib.import_module(module).app)


def load(entry: Entry) -> Command:
    """The real click command for ``entry``: imports its module."""
    group = _module_group(entry.module)
    return group if entry.group else group.commands[entry.name]


class _Loaded(Mapping[str, Command]):
    """Command name → the real command, imported on first look-up; the names come from the index."""

    def __init__(self, index: dict[str, Entry]) -> None:
        self.index = index

    def __getitem__(self, name: str) -> Command:
        return load(self.index[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


class LazyCommands(TyperGroup):
    """The root group: lists and describes commands from ``command_index``, imports a command's
    module only to run it (or to show that command's own ``--help``)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.index = {e.name: e for e in command_index()}
        self.commands = _Loaded(self.index)  # type: ignore[assignment]  # read-only, lazy

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.index)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Click's command list, with each line's help from the index (no module imported)."""
        if not self.index:
            return
        limit = formatter.width - 6 - max(len(name) for name in self.index)
        rows = [(name, TyperCommand(name, help=entry.help).get_short_help_str(limit))
                for name, entry in self.index.items()]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)

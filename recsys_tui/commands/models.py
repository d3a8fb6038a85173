"""``recsys-tui models list | use VERSION``: the published versions and rollback."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from recsys_tui.commands.train import UsageProblem, _choice
from recsys_tui.common.errors import RecsysError
from recsys_tui.context import STATE
from recsys_tui.core import artifacts
from recsys_tui.output import FORMATS, emit


def version_rows(root) -> list[tuple]:
    """One row per published version, oldest first: what it is and whether it is live."""
    try:
        live = artifacts.current_version(root)
    except RecsysError:
        live = None  # a damaged CURRENT: every version is listed, none marked
    rows = []
    for version in artifacts.versions(root):
        try:
            manifest = artifacts.read_manifest(root / version)
        except RecsysError:
            rows.append(("*" if version == live else "", version, "unreadable", None, None, None, None))
            continue
        gate = manifest.get("gate") if isinstance(manifest.get("gate"), dict) else {}
        data = manifest.get("data") if isinstance(manifest.get("data"), dict) else {}
        rows.append(("*" if version == live else "", version, str(manifest.get("model", "?")),
                     data.get("n_ratings"), gate.get("hr10"), manifest.get("index") or None,
                     str(manifest.get("created_utc", "?"))))
    return rows


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="List published model versions; switch the live one (rollback).",
                             no_args_is_help=True)
    app.add_typer(models_app, name="models")

    @models_app.command("list")
    def models_list(fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]
                    = "table") -> None:
        """Every published version, oldest first; * marks the live one; hr10 is the publish gate's probe."""
        _choice(fmt, FORMATS, "format")
        root = STATE.home.artifacts
        rows = version_rows(root)
        emit(STATE.console, ["live", "version", "model", "ratings", "hr10", "index", "created_utc"],
             rows, fmt, title=f"{len(rows)} published version(s) in {root}")

    @models_app.command("use")
    def models_use(version: Annotated[str, typer.Argument(help="A version from `models list`.")]) -> None:
        """Make VERSION the live model (checked whole first; CURRENT is replaced atomically)."""
        root = STATE.home.artifacts
        if version not in artifacts.versions(root):
            raise UsageProblem(f"no published version {version!r}; see `recsys-tui models list`")
        artifacts.load(root, version)  # every checksum and array verified before it goes live
        before = artifacts.current_version(root)
        artifacts.set_current(root, version)
        STATE.console.print(Text(f"live model: {version} (was {before or 'none'}); commands and apps "
                                 "started from now use it"))

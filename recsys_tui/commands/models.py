"""``recsys-tui models list | use VERSION``: the published versions and rollback."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from recsys_tui.common.errors import RecsysError
from recsys_tui.context import STATE
from recsys_tui.options import FormatOpt, command_app
from recsys_tui.output import FORMATS, emit
from recsys_tui.usage import UsageProblem, choice

app = command_app(name="models", help="List published model versions; switch the live one (rollback).",
                  no_args_is_help=True)


def version_rows(root) -> list[tuple]:
    """One row per published version, oldest first: what it is and whether it is live."""
    from recsys_tui.core import artifacts

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


@app.command("list")
def list_versions(fmt: FormatOpt = "table") -> None:
    """Every published version, oldest first; * marks the live one; hr10 is the publish gate's probe."""
    choice(fmt, FORMATS, "format")
    root = STATE.home.artifacts
    rows = version_rows(root)
    emit(STATE.console, ["live", "version", "model", "ratings", "hr10", "index", "created_utc"],
         rows, fmt, title=f"{len(rows)} published version(s) in {root}")

@app.command("use")
def use(version: Annotated[str, typer.Argument(help="A version from `models list`.")]) -> None:
    """Make VERSION the live model (checked whole first; CURRENT is replaced atomically)."""
    from recsys_tui.core import artifacts

    root = STATE.home.artifacts
    if version not in artifacts.versions(root):
        raise UsageProblem(f"no published version {version!r}; see `recsys-tui models list`")
    artifacts.load(root, version)  # every checksum and array verified before it goes live
    before = artifacts.current_version(root)
    artifacts.set_current(root, version)
    STATE.console.print(Text(f"live model: {version} (was {before or 'none'}); commands and apps "
                             "started from now use it"))

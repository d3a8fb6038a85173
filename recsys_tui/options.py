"""The options more than one command takes, declared once as typer ``Annotated`` types.

The global options (``--home``, ``--dataset``, ``--redis-url``, ``--log-url``) are the root
callback's (``recsys_tui.cli``); the rest are per command. ``command_app`` is the typer app every
command module declares its commands on. This module imports typer only, so a command module that
uses it stays light to import (``recsys-tui COMMAND --help`` loads no NumPy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

# -- global options (the root callback) ---------------------------------------------------------

HomeOpt = Annotated[str | None, typer.Option(
    "--home", help="Folder for data, models and the event log [env RECSYS_TUI_HOME].")]
RedisUrlOpt = Annotated[str | None, typer.Option(
    "--redis-url", help="Real Redis (redis://, rediss://, unix://) instead of the embedded "
    "store [env RECSYS_TUI_REDIS_URL]; redis+cluster://host:port[,host:port...] for a Redis "
    "Cluster.")]
LogUrlOpt = Annotated[str | None, typer.Option(
    "--log-url", help="Shared PostgreSQL event log (postgresql://user@host:port/db) instead of the "
    "home's SQLite file [env RECSYS_TUI_LOG_URL].")]
DatasetOpt = Annotated[str | None, typer.Option(
    "--dataset", help="Data set for every command: ml-100k (default), ml-latest-small, ml-1m, "
    "ml-10m, ml-20m, ml-25m, ml-32m or a synthetic set's name [env RECSYS_TUI_DATASET].")]
VersionOpt = Annotated[bool, typer.Option("--version", help="Print the version and exit.")]

# -- options several commands share --------------------------------------------------------------

UserOpt = Annotated[int, typer.Option(
    "--user", "-u", help="User id: a user of the data set (see `data info`) or a new user's id.")]
ItemOpt = Annotated[int, typer.Option(
    "--item", "-i", help="Item id from the data set's catalogue (see `data info`).")]
KOpt = Annotated[int, typer.Option("-k", help="How many recommendations (1–1000).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the results here as JSON.")]
ParamOpt = Annotated[list[str] | None, typer.Option(
    "--param", "-p", help="Model hyper-parameter key=value (repeatable; names, bounds and meaning: "
                          "docs/PARAMETERS.md).")]
SeedsOpt = Annotated[str, typer.Option("--seeds", help="Comma-separated split seeds.")]
HostOpt = Annotated[str, typer.Option("--host", help="Address to bind (loopback unless you mean it).")]
PortOpt = Annotated[int, typer.Option("--port", help="TCP port (1–65535).")]


def command_app(**settings: Any) -> typer.Typer:
    """A command module's typer app, with the root's settings (plain help text, no completion).

    A module's ``app = command_app()`` holds top-level commands; ``command_app(name="data",
    help=...)`` is a command group of that name. ``recsys_tui.command_index`` finds both in the
    module's source without importing it.
    """
    return typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                       **settings)

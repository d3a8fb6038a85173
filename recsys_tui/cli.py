"""The ``recsys-tui`` command line: a thin typer layer over the engine and the pipeline.

Every failure the user can cause ends in one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

try:  # typer ≥ 0.20 vendors click as typer._click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException  # type: ignore[no-redef]

    NoArgsIsHelpError = ()  # type: ignore[assignment,misc]

from recsys_tui import __version__
from recsys_tui.context import STATE

app = typer.Typer(
    name="recsys-tui",
    help="A terminal recommender that visibly learns while you use it (MovieLens-100K).",
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: Annotated[str | None, typer.Option(
        "--home", help="Folder for data, models and the event log [env RECSYS_TUI_HOME].")] = None,
    redis_url: Annotated[str | None, typer.Option(
        "--redis-url", help="Real Redis (redis://, rediss://, unix://) instead of the embedded "
        "store [env RECSYS_TUI_REDIS_URL]; redis+cluster://host:port[,host:port...] for a Redis "
        "Cluster.")] = None,
    log_url: Annotated[str | None, typer.Option(
        "--log-url", help="Shared PostgreSQL event log (postgresql://user@host:port/db) instead of the "
        "home's SQLite file [env RECSYS_TUI_LOG_URL].")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """With no command: open the app (fetching data and training on first run)."""
    STATE.home_arg = home
    STATE.redis_url = redis_url
    STATE.log_url = log_url
    if version:
        typer.echo(f"recsys-tui {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        from recsys_tui.launch import launch

        launch(STATE)


def _register() -> None:
    import importlib
    import pkgutil

    import recsys_tui.commands as pkg

    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        importlib.import_module(f"recsys_tui.commands.{mod}").register(app)


_register()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every expected failure into one line and exit code."""
    from recsys_tui.common.errors import RecsysError

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        rc = app(args=argv, prog_name="recsys-tui", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("recsys-tui: aborted", file=sys.stderr)
        return 130
    except NoArgsIsHelpError as exc:
        print(exc.format_message())
        return 0
    except ClickException as exc:
        print(f"recsys-tui: error: {_one_line(exc.format_message())} (see --help)", file=sys.stderr)
        return exc.exit_code or 2
    except RecsysError as exc:
        print(f"recsys-tui: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("recsys-tui: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"recsys-tui: error: {_one_line(exc.strerror or exc)}"
              f"{f' ({exc.filename})' if exc.filename else ''}", file=sys.stderr)
        return 1
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())

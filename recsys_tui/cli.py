"""The ``recsys-tui`` command line: a thin typer layer over the engine and the pipeline.

Every failure the user can cause ends in one line on stderr and a non-zero exit code.

The commands are module-level functions in ``recsys_tui/commands/*.py``; the root group
(``command_index.LazyCommands``) lists them from their modules' source and imports a module only
when one of its commands runs. So ``--version``, ``--help`` and the app itself (no command) import
no command module, and no NumPy, implicit, FAISS or Textual before they are needed.
"""

from __future__ import annotations

import os
import sys

import typer

try:  # typer ≥ 0.20 vendors click as typer._click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException  # type: ignore[no-redef]

    NoArgsIsHelpError = ()  # type: ignore[assignment,misc]

from recsys_tui import __version__
from recsys_tui.command_index import LazyCommands
from recsys_tui.common.text import clean, plain
from recsys_tui.context import STATE
from recsys_tui.options import DatasetOpt, HomeOpt, LogUrlOpt, RedisUrlOpt, VersionOpt

app = typer.Typer(
    name="recsys-tui",
    cls=LazyCommands,
    help="A terminal recommender that visibly learns while you use it (MovieLens data sets; "
         "ML-100K by default).",
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    home: HomeOpt = None,
    redis_url: RedisUrlOpt = None,
    log_url: LogUrlOpt = None,
    dataset: DatasetOpt = None,
    version: VersionOpt = False,
) -> None:
    """With no command: open the app (fetching data and training on first run)."""
    STATE.home_arg = home
    STATE.redis_url = redis_url
    STATE.dataset = dataset
    STATE.log_url = log_url
    if redis_url:  # a malformed URL is a usage error (exit 2) before any fetch, train or open
        from recsys_tui.core.store_connection import check_url

        check_url(redis_url)
    if version:
        typer.echo(f"recsys-tui {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        from recsys_tui.launch import launch

        launch(STATE)


def _one_line(text: object) -> str:
    """A message as one line of inert text: whitespace runs joined, control characters shown."""
    return plain(" ".join(str(text).split()))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every expected failure into one line and exit code."""
    umask = os.umask(PRIVATE_UMASK)  # the home is the person's own: folders 0700, files 0600
    try:
        return _run(argv)
    finally:
        os.umask(umask)


PRIVATE_UMASK = 0o077


def _run(argv: list[str] | None) -> int:
    from recsys_tui.common.errors import RecsysError

    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        print(f"recsys-tui {__version__}")
        return 0
    try:
        rc = app(args=args, prog_name="recsys-tui", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("recsys-tui: aborted", file=sys.stderr)
        return 130
    except NoArgsIsHelpError as exc:
        print(clean(exc.format_message()))
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
              f"{f' ({_one_line(exc.filename)})' if exc.filename else ''}", file=sys.stderr)
        return 1
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())

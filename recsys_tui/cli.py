"""The ``recsys-tui`` command line: a thin typer layer over the engine and the pipeline.

Every failure the user can cause ends in one line on stderr and a non-zero exit code.

Start-up: ``--version`` and the top-level ``--help`` never import the command modules (and so
never NumPy, implicit, FAISS or Textual); ``--help`` is rendered from ``COMMANDS``, which
tests/test_startup.py keeps identical to the registered commands.
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
from recsys_tui.common.text import clean, plain
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
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="Data set for every command: ml-100k (default), ml-latest-small, ml-1m, "
        "ml-10m, ml-20m, ml-25m, ml-32m or a synthetic set's name [env RECSYS_TUI_DATASET].")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
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


COMMANDS: tuple[tuple[str, str], ...] = (
    ("bench", "Measure the hot path (per step p50/p95/p99), batch throughput and index growth."),
    ("check", "Inject faults (Redis and process kills, corrupt files, full disk, bad input) and report."),
    ("demo", "Run the real app headless from a script and print a transcript (SSH demos, CI)."),
    ("loadtest", "Load-test a running API (events go to users the run creates; each is audited in the log)."),
    ("recommend", "Top-k for one user (with reasons and timing) or for every user (batch)."),
    ("rate", "Record a rating, then show the new top-k with rank changes and step timings."),
    ("click", "Record a click or view (an implicit signal), then show the new top-k."),
    ("undo", "Undo the user's newest logged event."),
    ("new-user", "Create a new (cold-start) user and print the id."),
    ("similar", "More like this: items whose vectors are closest to the item's."),
    ("history", "Every logged event of the user (undone ones left out), oldest first; times in UTC."),
    ("status", "Model version, index, feature store (password hidden) and event count."),
    ("replay", "Test-then-learn through the real engine: train on the past, replay the rest in time order."),
    ("report", "Eval + replay + adaptation + differentiation → a Markdown report and its JSON."),
    ("scale-bench", "Benchmark growth on SYNTHETIC data shaped like ML-25M; one table and a log–log plot."),
    ("serve", "Serve the HTTP API: /recommend, /events, /similar, /users, /healthz, /metrics, /docs."),
    ("train", "Train a model on the data set plus logged ratings; build the index; publish a version."),
    ("eval", "Precision/Recall/NDCG/MAP@k, coverage, personalization for each model and baseline."),
    ("tune", "Grid-search hyper-parameters on a validation split carved from the training part."),
    ("web", "Serve the app to web browsers: every tab is its own session over the same home."),
    ("data", "Fetch, verify, synthesise and describe MovieLens data sets."),
    ("models", "List published model versions; switch the live one (rollback)."),
)
"""Every top-level command and the first paragraph of its help, in registration order (what the
fast ``--help`` lists; a new command adds a line here, tests/test_startup.py says if one is missing)."""

_registered: list[bool] = []


def _register() -> None:
    """Import every command module and register its commands (once)."""
    import importlib
    import pkgutil

    import recsys_tui.commands as pkg

    if _registered:
        return
    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        importlib.import_module(f"recsys_tui.commands.{mod}").register(app)
    _registered.append(True)


def registered_app() -> typer.Typer:
    """The app with every command registered (imports the command modules)."""
    _register()
    return app


def _help_app() -> typer.Typer:
    """The root options plus one help-only entry per ``COMMANDS`` line, for the fast ``--help``."""
    help_app = typer.Typer(name=app.info.name, help=app.info.help, add_completion=False,
                           rich_markup_mode=None, context_settings=app.info.context_settings)
    help_app.callback(invoke_without_command=True)(root)
    for name, text in COMMANDS:
        help_app.command(name, help=text)(_listed_only)
    return help_app


def _listed_only() -> None:
    """A help-only entry: ``main`` never runs the fast help app with a command."""
    raise AssertionError("the fast --help app never runs commands")


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


_VALUE_OPTIONS = ("--home", "--redis-url", "--log-url", "--dataset")
"""Global options that take a value (the value is never a command name)."""


def _command_of(args: list[str]) -> str | None:
    """The command named on the command line, or None (``recsys-tui [global options]``)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _run(argv: list[str] | None) -> int:
    from recsys_tui.common.errors import RecsysError

    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        print(f"recsys-tui {__version__}")
        return 0
    lean = args in (["--help"], ["-h"]) or _command_of(args) is None
    target = _help_app() if lean else registered_app()  # no command: open the app, import none
    try:
        rc = target(args=args, prog_name="recsys-tui", standalone_mode=False)
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

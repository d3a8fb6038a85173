"""Open the Textual app: set up on first run (with progress), then hand over to ``tui``."""

from __future__ import annotations

import sys

from recsys_tui.common.errors import RecsysError
from recsys_tui.context import Context


class NoTerminal(RecsysError):
    """``recsys-tui`` was started without a terminal (stdin or stdout redirected): exit 2."""

    exit_code = 2


def _isatty(stream) -> bool:
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def require_terminal(stdin=None, stdout=None) -> None:
    """Refuse to open the interactive app unless both stdin and stdout are a terminal."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if not (_isatty(stdin) and _isatty(stdout)):
        raise NoTerminal("no terminal (stdin or stdout is not a TTY), and the app needs one; "
                         "for a scripted, headless run use `recsys-tui demo --script FILE`")


def launch(ctx: Context) -> None:
    """Open the app (checked first: a terminal; without one, one line and exit 2)."""
    require_terminal()
    from recsys_tui.app_factory import run_app

    run_app(ctx.home, ctx.effective_redis_url())

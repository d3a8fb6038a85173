"""Open the Textual app: set up on first run (with progress), then hand over to ``tui``."""

from __future__ import annotations

import gc
import os
import sys

from recsys_tui.common.errors import RecsysError
from recsys_tui.context import Context


class NoTerminal(RecsysError):
    """``recsys-tui`` was started without a terminal (stdin or stdout redirected): exit 2."""

    exit_code = 2


def _isatty(stream) -> bool:
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def require_terminal(stdin=None, stdout=None) -> None:
    """Refuse to open the interactive app unless both stdin and stdout are a terminal.

    A browser session of ``recsys-tui web`` is a terminal too: textual-serve runs the app over
    pipes with Textual's web driver (``TEXTUAL_DRIVER``), which the app then talks to.
    """
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    if not (_isatty(stdin) and _isatty(stdout)):
        raise NoTerminal("no terminal (stdin or stdout is not a TTY), and the app needs one; "
                         "for a scripted, headless run use `recsys-tui demo --script FILE`")


def leave_now(code: int) -> None:
    """End the process at once, skipping the interpreter's teardown.

    After the app has quit, everything that matters is already closed (the terminal is restored,
    the event log closed, any message printed). Tearing down every module and object of a process
    that loaded numpy, pandas, FAISS, implicit and Textual takes 0.5–1 s of blank terminal on a
    small machine, and would also wait for nothing but cancelled background threads (daemons).
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(code)


def launch(ctx: Context) -> None:
    """Open the app (checked first: a terminal; without one, one line and exit 2); when it has
    quit normally the process ends at once (``leave_now``); errors go the CLI's one-line way."""
    require_terminal()
    # Start-up allocates a few hundred thousand long-lived objects (Textual, numpy, SciPy, FAISS,
    # the engine): the collector would walk them again and again for nothing (~0.1 s). The app
    # collects once and turns it back on as soon as the login table is on screen (freeze_heap).
    gc.disable()
    from recsys_tui.app_factory import run_app

    run_app(ctx.home, ctx.effective_redis_url(), ctx.effective_log_url())
    leave_now(0)

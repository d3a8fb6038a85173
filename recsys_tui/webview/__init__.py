"""``recsys-tui web``: the Textual app served to browsers with textual-serve.

Every browser tab (every websocket) starts its own ``python -m recsys_tui`` process — its own app
session and engine over the same home (the SQLite log is shared in WAL mode). The page's template is
textual-serve's own with the Google Fonts link replaced by the Roboto Mono files that ship in the
textual-serve wheel, so the page, its JavaScript and its fonts come from this server alone.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.home import HOME_ENV, REDIS_ENV, Home

TEMPLATES = Path(__file__).parent / "templates"


class WebViewUnavailable(RecsysError):
    """textual-serve is not installed."""


def app_command() -> str:
    """The shell command textual-serve runs per session (home and store come from the environment,
    so a Redis password never shows in a process list)."""
    return shlex.join([sys.executable, "-m", "recsys_tui"])


def make_server(home: Home, redis_url: str | None, host: str, port: int):
    """A textual-serve ``Server`` for the app over ``home`` (sets the env its sessions inherit)."""
    try:
        import textual_serve
        from textual_serve.server import Server
    except ImportError:
        raise WebViewUnavailable("the web view needs textual-serve: pip install 'recsys-tui[web]'") from None
    os.environ[HOME_ENV] = str(home.root)
    if redis_url:
        os.environ[REDIS_ENV] = redis_url
    statics = Path(textual_serve.__file__).parent / "static"
    return Server(app_command(), host=host, port=port, title="recsys-tui",
                  statics_path=statics, templates_path=TEMPLATES)

"""``recsys-tui web``: the Textual app in a browser (textual-serve); one app session per tab."""

from __future__ import annotations

from recsys_tui.context import STATE
from recsys_tui.netopts import check_bind, ensure_home_ready, warn_if_exposed
from recsys_tui.options import HostOpt, PortOpt, command_app

app = command_app()


@app.command("web")
def web(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Serve the app to web browsers: every tab is its own session over the same home."""
    from recsys_tui.webview import make_server

    check_bind(host, port)
    ensure_home_ready()
    server = make_server(STATE.home, STATE.effective_redis_url(), host, port)
    warn_if_exposed(host, "the web view")
    server.serve()

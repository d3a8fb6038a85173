"""``recsys-tui serve``: the HTTP API (FastAPI + uvicorn) over the engine, with /metrics and /docs."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Annotated

import typer

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import plain
from recsys_tui.context import STATE
from recsys_tui.netopts import check_bind, ensure_home_ready, raise_fd_limit, warn_if_exposed
from recsys_tui.options import HostOpt, PortOpt, command_app
from recsys_tui.usage import UsageProblem

app = command_app()
MAX_WORKERS = 32
TOKEN_ENV = "RECSYS_TUI_API_TOKEN"


class ServeUnavailable(RecsysError):
    """The [serve] extra is not installed."""


def _check_engine_opens(redis_url: str | None) -> str:
    from recsys_tui.core.engine import Engine

    engine = Engine.open(STATE.home, redis_url)
    try:
        return engine.version
    finally:
        engine.close()


@app.command("serve")
def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes (1–32); more than "
                                         "one needs --redis-url (one shared store).")] = 1,
    token: Annotated[str | None, typer.Option(
        "--token", help=f"Require 'Authorization: Bearer TOKEN' on every route but /healthz "
        f"[env {TOKEN_ENV}; prefer the env var: a flag shows in process lists].")] = None,
    keep_alive: Annotated[int, typer.Option(
        "--keep-alive", help="Seconds an idle keep-alive connection stays open (1–3600).")] = 75,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request line.")] = False,
    cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Answer an unchanged user's "
                                        "personal list from the worker's cache.")] = True,
) -> None:
    """Serve the HTTP API: /recommend, /events, /similar, /users, /healthz, /metrics, /docs."""
    try:
        import uvicorn

        import recsys_tui.api  # noqa: F401
    except ImportError:
        raise ServeUnavailable("the HTTP API needs its extra: pip install 'recsys-tui[serve]'") from None
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageProblem(f"--workers must be 1–{MAX_WORKERS}, got {workers}")
    if not 1 <= keep_alive <= 3600:
        raise UsageProblem(f"--keep-alive must be 1–3600 seconds, got {keep_alive}")
    token = token if token is not None else os.environ.get(TOKEN_ENV)
    if token is not None and (not token.strip() or any(c.isspace() for c in token)):
        raise UsageProblem("the API token must be non-empty and contain no spaces")
    redis_url = STATE.effective_redis_url()
    if workers > 1 and not redis_url:
        raise UsageProblem("--workers above 1 needs a shared store: give --redis-url redis://… "
                           "(each worker would otherwise keep its own embedded store)")
    check_bind(host, port)
    ensure_home_ready()
    version = _check_engine_opens(redis_url)

    from recsys_tui.api.config import NO_CACHE_VAR, ApiConfig

    config = ApiConfig(str(STATE.home.root), redis_url, token or None, cache=cache)
    os.environ.pop(NO_CACHE_VAR, None)  # the flag decides, not a leftover variable
    os.environ.update(config.to_env())
    metrics_dir = None
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="recsys-tui-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    raise_fd_limit()
    warn_if_exposed(host, "the API")
    shown = f"[{host}]" if ":" in host else host
    STATE.err.print(f"serving model {plain(version)} on http://{shown}:{port} with {workers} "
                    f"worker(s){', bearer token required' if token else ''}; docs at /docs, "
                    "metrics at /metrics; Ctrl+C stops", markup=False, highlight=False, soft_wrap=True)
    try:
        uvicorn.run("recsys_tui.api.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, loop="auto", http="auto", access_log=access_log,
                    log_level="info" if access_log else "warning", timeout_keep_alive=keep_alive,
                    backlog=4096, proxy_headers=False, server_header=False)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)

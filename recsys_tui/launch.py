"""Open the Textual app: set up on first run (with progress), then hand over to ``tui``."""

from __future__ import annotations

from recsys_tui.context import Context


def launch(ctx: Context) -> None:
    from recsys_tui.app_factory import run_app

    run_app(ctx.home, ctx.effective_redis_url(), ctx.effective_log_url())

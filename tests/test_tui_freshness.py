"""A rating recorded by another process shows in the app by itself, with no keypress.

How fast (the 1 s p99 target) is a benchmark's job: ``examples/bench_distributed.py`` measures
cross-process freshness. Here the bound is only liveness, wide enough for a loaded CI machine."""

from __future__ import annotations

import time

import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.tui.app import RecsysApp

from recsys_tui.app_factory import make_app
from tests.tui_helpers import drive, rec_rows, settle

pytestmark = [pytest.mark.tui, pytest.mark.redis]


LIVENESS_S = 20.0
"""How long the test waits before it calls the update lost (not a speed target)."""


def test_another_process_s_rating_reaches_the_open_app_without_a_keypress(home, redis_server):
    other = Engine.open(home, redis_server.url)

    async def body(app: RecsysApp, pilot) -> None:
        recs = await app.login(1)
        top = recs.items[0].item_id
        assert top in [i for i, _ in rec_rows(app)]
        t0 = time.monotonic()
        other.record(1, top, "rating", 1)  # another session rates the app's first pick
        while top in [i for i, _ in rec_rows(app)]:
            assert time.monotonic() - t0 < LIVENESS_S, "the app never showed the other process's rating"
            await pilot.pause(0.02)
        assert app.last_recs is not None and top not in app.last_recs.item_ids
        await settle(app, pilot)
        rows = app.main.catalogue.rows  # the catalogue's "You" column follows the other session
        assert top in rows and rows[top].your_rating == 1

    try:
        drive(make_app(home, redis_server.url), body)
    finally:
        other.close()

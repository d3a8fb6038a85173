"""Snapshot tests (pytest-textual-snapshot) at 80×24 and 120×40: login, main after a rating,
help, palette, learning view, and the main screen under NO_COLOR.

What changes from run to run is masked before the screenshot: model version names (they carry
the publish time), latency numbers and the sparkline, elapsed seconds, and the fourth decimal of
each score on the list (the batch fit's float rounding follows the CPU's BLAS kernel: one score
sat at x.xxx5 and read 0.9011 on one machine, 0.9012 on another; the scores themselves are checked
exactly, machine by machine, by the engine's tests). Regenerate after a reviewed
change with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs in
``tests/__snapshots__/test_tui_snapshots/``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest
from recsys_tui.core.engine import Engine
from recsys_tui.tui.app import RecsysApp
from recsys_tui.tui.background import Cancelled
from recsys_tui.tui.screens.learning import LearningScreen
from recsys_tui.tui.widgets.recs_table import RecsTable
from rich.text import Text
from textual.widgets import Input, Sparkline, Static

from recsys_tui.app_factory import make_app, make_services
from tests.tui_helpers import settle

pytest.importorskip("pytest_textual_snapshot")
pytestmark = [pytest.mark.tui, pytest.mark.slow]

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]
VERSION = re.compile(r"\d{8}T\d{6}")
SCORE = re.compile(r"^(-?\d+\.\d{3})\d$")
"""A list score's fourth decimal (masked: it follows the machine's BLAS kernel, see above)."""
NUMBERS_IN = ("latency", "learning-progress")
"""Widgets (by id prefix) that show timings: each of their lines is replaced by a fixed text."""


def _plain(widget: Static) -> str:
    rendered = widget.render()
    return rendered.plain if hasattr(rendered, "plain") else str(rendered)


def mask(app: RecsysApp) -> None:
    """Replace what differs between runs (version stamps, timings) with fixed text."""
    screens = list(app.screen_stack)
    for screen in screens:
        if isinstance(screen, LearningScreen):
            screen.stop_ticking()  # its elapsed seconds would change after the mask
    for widget in (w for screen in screens for w in screen.query(Static)):
        text = _plain(widget)
        masked = VERSION.sub("YYYYMMDDTHHMMSS", text)
        if any((widget.id or "").startswith(p) for p in NUMBERS_IN):
            masked = "\n".join("(timings masked)" for _ in masked.splitlines())
        if masked != text:
            widget.update(Text(masked))
    for box in (w for screen in screens for w in screen.query(Input)):
        box.cursor_blink = False  # a blinking cursor is on or off depending on the moment
    for spark in (w for screen in screens for w in screen.query(Sparkline)):
        spark.data = [1.0] * len(spark.data or [])
    for table in (w for screen in screens for w in screen.query(RecsTable)):
        table.set_rows([replace(row, score=SCORE.sub(r"\1·", row.score)) for row in table.rows])
    for pane in (w for screen in screens for w in screen.query("#latency")):
        pane.border_subtitle = re.sub(r"\S+$", "…", str(pane.border_subtitle or ""))


def fresh_app(home, **kw) -> RecsysApp:
    return make_app(home, engine=Engine.open(home), **kw)


def close(app: RecsysApp) -> None:
    app.stop.set()
    app.stop.join(60)
    if app.engine is not None:
        app.engine.close()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_login(snap_compare, home, size):
    app = fresh_app(home)

    async def before(pilot) -> None:
        await app.wait_ready()
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        close(app)


async def _rated(app: RecsysApp, pilot) -> None:
    await app.wait_ready()
    await app.login(1)
    await app.search("star wars")
    await app.select(50)
    result = await app.rate(5 if app.engine.movie(50, 1).your_rating != 5 else 4)
    assert result is not None
    await settle(app, pilot)
    app.clear_notifications()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_main_after_a_rating(snap_compare, home, size):
    app = fresh_app(home)

    async def before(pilot) -> None:
        await _rated(app, pilot)
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        close(app)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_main_without_colour(snap_compare, home, size, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = fresh_app(home)

    async def before(pilot) -> None:
        await _rated(app, pilot)
        await pilot.press("tab")  # focus on the recommendations: ▶ and a heavy border show it
        await settle(app, pilot)
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        close(app)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_help(snap_compare, home, size):
    app = fresh_app(home)

    async def before(pilot) -> None:
        await app.wait_ready()
        await app.login(1)
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.press("f1")
        await pilot.pause()
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        close(app)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_palette(snap_compare, home, size):
    app = fresh_app(home)

    async def before(pilot) -> None:
        await app.wait_ready()
        await app.login(1)
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.press("ctrl+p", *"model")
        await settle(app, pilot)
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        close(app)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_learning_view_at_once(snap_compare, home, size):
    """The learning view the moment it opens: progress (0 / total events) shows at once."""
    services = make_services(home)
    real_replay, opened = services.replay, threading.Event()

    def replay_after_the_screenshot(on_point):
        """The real replay, held until the screenshot is taken (its first point would race it)."""
        opened.wait(120)
        if app.stop.is_set:
            raise Cancelled
        return real_replay(on_point)

    services.replay = replay_after_the_screenshot
    app = RecsysApp(services, engine=Engine.open(home))

    async def before(pilot) -> None:
        await app.wait_ready()
        await app.login(1)
        await settle(app, pilot)
        app.clear_notifications()
        await pilot.press("f6")
        await pilot.pause()
        mask(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=before)
    finally:
        app.stop.set()
        opened.set()
        close(app)

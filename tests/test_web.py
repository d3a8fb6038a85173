"""``recsys-tui web`` in a real headless Chromium (Debian's, no browser download): the page loads
from the server alone, a person logs in, presses ``5`` and the recommendation list on the page
changes to the one the engine computes from the shared log. Saves a screenshot of the result
(``RECSYS_TUI_UPDATE_SCREENSHOTS=1`` writes it to docs/web-view.png for the README)."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("textual_serve")
from recsys_tui.core.engine import Engine
from recsys_tui.core.event_log import EventLog

from tests.api_helpers import CliServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[1] / "docs"
USER = 1
_ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[\]P_^].*?(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b.")


def need_browser():
    if CHROMIUM is None:
        reason = "chromium not installed (.ci/run installs Debian's chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright (the Python client) is not installed")
        pytest.skip("playwright not installed: pip install 'recsys-tui[browser-test]'")
    return sync_playwright


class Screen:
    """What the app wrote to the browser's terminal (websocket frames, escape sequences removed)."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def on_websocket(self, ws) -> None:
        ws.on("framereceived", lambda f: self.frames.append(f if isinstance(f, bytes) else f.encode()))

    def text(self, since: int = 0) -> str:
        return _ANSI.sub("", b"".join(self.frames[since:]).decode("utf-8", "replace"))

    def wait_for(self, page, found, what: str, since: int = 0, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found(self.text(since)):
                return
            page.wait_for_timeout(200)
        raise AssertionError(f"the page never showed {what} within {timeout:.0f} s")


def _lists(home) -> list[str]:
    eng = Engine.open(home)
    try:
        return [r.title for r in eng.recommend(USER).items]
    finally:
        eng.close()


def test_web_view_logs_in_rates_and_shows_the_changed_list(home, tmp_path):
    sync_playwright = need_browser()
    eng = Engine.open(home)
    try:
        before = [r.title for r in eng.recommend(USER).items]
        rated = {m.item_id for m in eng.search(user_id=USER, limit=None) if m.your_rating is not None}
        order = [m.item_id for m in eng.search(limit=50)]  # the catalogue's order: most rated first
    finally:
        eng.close()
    target = next(n for n, item in enumerate(order) if item not in rated)
    server = CliServer(home.root, "web").start()
    requested: list[str] = []
    screen = Screen()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.on("request", lambda r: requested.append(r.url))
                page.on("websocket", screen.on_websocket)
                page.goto(server.url)
                screen.wait_for(page, lambda t: "technician" in t, "the login table")
                page.focus(".xterm-helper-textarea")
                mark = len(screen.frames)
                page.keyboard.press("Enter")
                screen.wait_for(page, lambda t: any(title[:12] in t for title in before),
                                f"user {USER}'s recommendations", since=mark)
                for _ in range(target):
                    page.keyboard.press("ArrowDown")
                page.wait_for_timeout(500)
                mark = len(screen.frames)
                page.keyboard.press("5")
                deadline = time.monotonic() + 60
                while not EventLog(home.event_log).events(USER) and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                events = EventLog(home.event_log).events(USER)
                assert [(e.item_id, e.kind, e.rating) for e in events] == [(order[target], "rating", 5.0)]
                after = _lists(home)
                fresh = [t for t in after if t not in before]
                assert fresh, "rating did not change the list (pick another item)"
                screen.wait_for(page, lambda t: all(title[:12] in t for title in fresh),
                                f"the changed list ({fresh})", since=mark)
                page.wait_for_timeout(500)
                shot = tmp_path / "web-view.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                if os.environ.get("RECSYS_TUI_UPDATE_SCREENSHOTS") == "1":
                    shutil.copyfile(shot, DOCS / "web-view.png")
            finally:
                browser.close()
    finally:
        server.stop()
    hosts = {re.sub(r"^[a-z]+://([^/]+).*$", r"\1", u) for u in requested if not u.startswith("data:")}
    assert hosts == {f"127.0.0.1:{server.port}"}, f"the page fetched from elsewhere: {hosts}"


def test_web_refuses_a_busy_port_with_one_line(home):
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "recsys_tui", "--home", str(home.root), "web",
                                 "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

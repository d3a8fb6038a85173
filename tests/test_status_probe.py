"""``status`` reads the home without opening the engine (issue 14): the same facts as the engine's
own ``status()``, no heavy import, nothing written, a damaged home still a one-line error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from recsys_tui.common.errors import DataError
from recsys_tui.core import artifacts
from recsys_tui.core.engine import Engine
from recsys_tui.core.feature_store import FeatureStore
from recsys_tui.core.status_probe import probe
from recsys_tui.data.cache_manifest import cache_dir

from tests.events import logged

HEAVY = ("numpy", "scipy", "pandas", "implicit", "faiss", "textual", "redis", "fakeredis", "lupa")


def test_status_says_what_the_opened_engine_says(home, store_url):
    engine = Engine.open(home, store_url)
    try:
        engine.record(1, 50, "rating", 5)
        engine.record(2, 60, "click")
        expected = engine.status()
    finally:
        engine.close()
    assert probe(home, store_url) == expected
    assert expected.n_events == 2 and expected.store_problems == ()


def test_status_imports_no_engine_library(home):
    code = ("import json, sys, contextlib, io\n"
            "from recsys_tui.cli import main\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            f"    rc = main(['--home', {str(home.root)!r}, 'status'])\n"
            f"print(json.dumps([rc, out.getvalue(), [m for m in {HEAVY!r} if m in sys.modules]]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    rc, out, heavy = json.loads(run.stdout.strip().splitlines()[-1])
    assert rc == 0 and heavy == []
    assert str(artifacts.current_version(home.artifacts)) in out and "fakeredis" in out


def test_status_reports_an_empty_store_and_writes_nothing(home, redis_server):
    status = probe(home, redis_server.url)
    assert status.degraded is None
    assert any("store is empty" in p for p in status.store_problems)
    store = FeatureStore.open(redis_server.url)
    try:
        assert store.all_keys() == []
    finally:
        store.close()
    assert logged(home) == 0


def test_a_corrupt_data_cache_is_one_error_naming_the_fix(home):
    ratings = cache_dir(home.data, home.dataset) / "ratings.npz"
    raw = bytearray(ratings.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    ratings.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"corrupt.*recsys-tui data fetch"):
        probe(home)

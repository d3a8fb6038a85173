"""Shared fixtures: the real ML-100K cache, trained temp homes, real redis-server processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from recsys_tui.core.home import Home

from tests.redis_server import REDIS_BINARY, RedisServer

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Tests are hermetic: the developer's home (where ``recsys-tui data fetch`` put the data set) is
# only read, to seed a session's temporary homes; every command a test runs without ``--home``
# lands in a throw-away home instead.
_DEVELOPER_HOME = Home.resolve()
os.environ["RECSYS_TUI_HOME"] = tempfile.mkdtemp(prefix="recsys-tui-test-home-")
REQUIRE_REDIS = os.environ.get("RECSYS_TUI_REQUIRE_REDIS") == "1"


def no_redis_binary() -> None:
    """Skip (or fail in CI, where RECSYS_TUI_REQUIRE_REDIS=1) when redis-server is missing."""
    reason = "redis-server binary not found (CI installs it via apt)"
    if REQUIRE_REDIS:
        pytest.fail(reason)
    pytest.skip(reason)


def pytest_report_header(config) -> str:
    return f"redis-server: {REDIS_BINARY or 'NOT FOUND (real-Redis tests will be skipped)'}"


def _seed_cache(target: Path) -> None:
    """Put a verified ML-100K cache into ``target`` (a test's own data folder).

    Copied from the developer's (or CI's) home when that holds one — read, never written — else
    fetched once. Nothing a test does reaches the developer's home.
    """
    from recsys_tui.data.cache import cache_dir, has_cache
    from recsys_tui.data.fetch import fetch

    source = _DEVELOPER_HOME.data
    if has_cache(source):
        shutil.copytree(cache_dir(source), cache_dir(target))
        return
    try:
        fetch(target, "auto")
    except Exception as exc:  # any failure means no dataset for this run
        pytest.skip(f"ML-100K unavailable and could not be fetched: {exc}")


@pytest.fixture(scope="session")
def ml100k_data(tmp_path_factory) -> Path:
    """A session-scoped data folder holding the verified ML-100K cache (seeded once)."""
    target = tmp_path_factory.mktemp("ml100k") / "data"
    _seed_cache(target)
    return target


@pytest.fixture(scope="session")
def trained_home_template(tmp_path_factory, ml100k_data) -> Path:
    """A home with the dataset and a published default ALS model (built once per session)."""
    from recsys_tui.training.pipeline import train

    root = tmp_path_factory.mktemp("trained-home")
    shutil.copytree(ml100k_data, root / "data")
    train(Home(root), "als")
    return root


@pytest.fixture
def home(tmp_path, trained_home_template) -> Home:
    """A private copy of the trained home (tests may write events and versions)."""
    root = tmp_path / "home"
    shutil.copytree(trained_home_template, root)
    return Home(root)


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free port, killed afterwards."""
    if REDIS_BINARY is None:
        no_redis_binary()
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture(params=["fakeredis", "redis", "cluster"])
def store_url(request, tmp_path):
    """``None`` for the embedded store, or the URL of a real server (or the session's emptied
    3-master Redis Cluster) for the test."""
    if request.param == "fakeredis":
        yield None
        return
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        yield cluster.url
        return
    if REDIS_BINARY is None:
        no_redis_binary()
    server = RedisServer(tmp_path / "redis-param").start()
    yield server.url
    server.stop()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Remove the session's throw-away default home."""
    shutil.rmtree(os.environ["RECSYS_TUI_HOME"], ignore_errors=True)


SLOW_MODULES = {"test_faults.py", "test_concurrency.py", "test_check.py", "test_report.py", "test_bench.py"}
"""Whole modules that kill servers and processes, or run the reports and benchmarks end to end."""
SLOW_TESTS = {
    # over 3.5 s each in the fast lane (``--durations``), measured on 2026-12-02:
    "test_titles_with_markup_actions_and_escapes_are_shown_never_obeyed",
    "test_the_learning_view_shows_progress_at_once", "test_keys_rate_click_search_and_quit_letters_in_search",
    "test_example_script_runs_headless_and_passes_its_expectations",
    "test_switch_user_with_f2_and_the_login_table",
    "test_ctrl_p_opens_the_palette_from_every_screen_and_text_box",
    "test_hybrid_serves_through_the_engine", "test_password_urls_work_and_are_never_printed",
    "test_cli_replay_on_ml100k_writes_json", "test_closing_the_learning_view_stops_its_replay",
    "test_retrain_in_background_keeps_the_app_working", "test_learning_view_draws_curves_without_blocking",
    "test_a_second_retrain_while_one_runs_is_refused",
    "test_palette_loads_a_version_published_by_another_process",
}
"""Single tests of more than ~8 s on a loaded 2-core machine (full fits, retrains, replays)."""


def pytest_collection_modifyitems(config, items) -> None:
    """Fault runs, reports and benchmarks are ``slow``: ``-m "not slow"`` is the fast lane."""
    for item in items:
        if (item.path.name in SLOW_MODULES or item.get_closest_marker("faults")
                or item.originalname in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


# -- PostgreSQL event log and Redis Cluster (issue 16) -------------------------------------------

REQUIRE_POSTGRES = os.environ.get("RECSYS_TUI_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def pg_server():
    """One throw-away PostgreSQL cluster on a free loopback port for the session."""
    from tests.pg_server import PostgresServer, postgres_bin

    try:
        import psycopg  # noqa: F401
    except ImportError:
        if REQUIRE_POSTGRES:
            pytest.fail("psycopg missing (pip install '.[postgres]')")
        pytest.skip("psycopg missing (pip install '.[postgres]')")
    if postgres_bin("initdb") is None:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL binaries missing (CI installs postgresql via apt)")
        pytest.skip("PostgreSQL binaries missing (CI installs postgresql via apt)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    import re
    import uuid

    import psycopg

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def log(tmp_path):
    """An empty SQLite event log in the test's folder."""
    from recsys_tui.core.event_log import EventLog

    log = EventLog(tmp_path / "events.sqlite3")
    yield log
    log.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_log(request, tmp_path):
    """An empty event log of each backend (SQLite file, PostgreSQL database)."""
    from recsys_tui.core.log_open import open_event_log

    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    log = open_event_log(tmp_path / "events.sqlite3", url)
    yield log
    log.close()


@pytest.fixture(scope="session")
def redis_cluster():
    """A 3-master Redis Cluster on free loopback ports for the session."""
    import shutil as _shutil

    from tests.pg_server import RedisClusterServers

    if REDIS_BINARY is None or _shutil.which("redis-cli") is None:
        no_redis_binary()
    cluster = RedisClusterServers(masters=3).start()
    yield cluster
    cluster.stop()

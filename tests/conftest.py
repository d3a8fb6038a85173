"""Shared fixtures: the real ML-100K cache, trained temp homes, real redis-server processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from recsys_tui.core.home import Home

from tests.redis_server import REDIS_BINARY, RedisServer

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
REQUIRE_REDIS = os.environ.get("RECSYS_TUI_REQUIRE_REDIS") == "1"


def no_redis_binary() -> None:
    """Skip (or fail in CI, where RECSYS_TUI_REQUIRE_REDIS=1) when redis-server is missing."""
    reason = "redis-server binary not found (CI installs it via apt)"
    if REQUIRE_REDIS:
        pytest.fail(reason)
    pytest.skip(reason)


def pytest_report_header(config) -> str:
    return f"redis-server: {REDIS_BINARY or 'NOT FOUND (real-Redis tests will be skipped)'}"


@pytest.fixture(scope="session")
def ml100k_data(tmp_path_factory) -> Path:
    """A data folder holding the verified ML-100K cache.

    Reuses the default home's cache (``recsys-tui data fetch`` in CI), else fetches once.
    """
    from recsys_tui.data.cache import has_cache
    from recsys_tui.data.fetch import fetch

    default = Home.resolve().data
    if has_cache(default):
        return default
    target = tmp_path_factory.mktemp("ml100k") / "data"
    try:
        fetch(target, "auto")
    except Exception as exc:  # any failure means no dataset for this run
        pytest.skip(f"ML-100K unavailable and could not be fetched: {exc}")
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

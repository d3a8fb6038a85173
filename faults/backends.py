"""Where a fault run keeps its log and its store: SQLite + one redis-server, or PostgreSQL + a Cluster.

``recsys-tui check`` runs its store and process scenarios on ``Embedded`` (each home's SQLite
file, a fresh ``redis-server`` per scenario) and, with ``--backends postgres-cluster`` or
``all``, again on ``Distributed``: one throw-away PostgreSQL (a fresh database per home) and one
3-master Redis Cluster (emptied before each scenario), both started here on free loopback ports
and stopped at the end. A scenario asks for a ``log_url`` per home and a ``StoreTarget`` it can
kill and restart; what it promises is the same on both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recsys_tui.faults.independent import redis_client
from recsys_tui.faults.local_servers import PostgresServer, RedisClusterServers, postgres_bin
from recsys_tui.faults.outcome import CheckError
from recsys_tui.faults.servers import Server

BACKENDS = ("sqlite-redis", "postgres-cluster")
GLOBAL_KEY = "rs:v1:{g}:epoch"
"""A key of the global slot: on a Cluster, its master is the one a scenario kills (worst case)."""


class StoreTarget:
    """A store a scenario can kill (SIGKILL) and restart (empty: no persistence)."""

    url: str
    label: str

    def kill(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        raise NotImplementedError


@dataclass
class SingleRedis(StoreTarget):
    """One ``redis-server``; kill and restart take the whole server."""

    server: Server
    label: str = "redis-server"

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.server.url

    def kill(self) -> None:
        self.server.kill()

    def restart(self) -> None:
        self.server.start()


@dataclass
class ClusterMaster(StoreTarget):
    """A 3-master Redis Cluster; kill and restart take the master of the global slot."""

    cluster: RedisClusterServers
    label: str = "cluster master (global slot)"
    killed: int | None = None

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.cluster.url

    def kill(self) -> None:
        client = redis_client(self.url)
        try:
            self.killed = int(client.get_node_from_key(GLOBAL_KEY).port)
        finally:
            client.close()
        self.cluster.kill(self.killed)

    def restart(self) -> None:
        if self.killed is not None:
            self.cluster.restart(self.killed)
            self.killed = None


class Backends:
    """The log and store kinds a scenario runs on."""

    name: str
    contiguous_ids: bool
    """SQLite ids are contiguous from 1; PostgreSQL's identity may skip one after a rollback."""

    def log_url(self) -> str | None:
        """A fresh, empty log for one home (``None``: the home's own SQLite file)."""
        raise NotImplementedError

    def store(self, workdir: Path) -> contextlib.AbstractContextManager[StoreTarget]:
        """A running, empty store for one scenario."""
        raise NotImplementedError

    def require(self) -> None:
        """Raise ``CheckError`` (one line) when a binary or driver this kind needs is missing."""

    def close(self) -> None:
        """Stop every server this object started."""


class Embedded(Backends):
    name = "sqlite-redis"
    contiguous_ids = True

    def log_url(self) -> str | None:
        return None

    @contextlib.contextmanager
    def store(self, workdir: Path) -> Iterator[StoreTarget]:
        server = Server(workdir / "redis").start()
        try:
            yield SingleRedis(server)
        finally:
            server.stop()


@dataclass
class Distributed(Backends):
    """A private PostgreSQL and a 3-master Redis Cluster, started on first use."""

    name: str = "postgres-cluster"
    contiguous_ids: bool = False
    pg: PostgresServer | None = None
    cluster: RedisClusterServers | None = None
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def require(self) -> None:
        missing = [what for what, ok in (
            ("psycopg (pip install 'recsys-tui[postgres]')", importlib.util.find_spec("psycopg") is not None),
            ("PostgreSQL's initdb and pg_ctl (apt install postgresql)",
             postgres_bin("initdb") is not None and postgres_bin("pg_ctl") is not None),
            ("redis-cli (apt install redis-tools)", shutil.which("redis-cli") is not None)) if not ok]
        if missing:
            raise CheckError(f"--backends {self.name} needs {' and '.join(missing)}")

    def log_url(self) -> str | None:
        import psycopg

        if self.pg is None:
            self.pg = PostgresServer().start()
        name = f"check_{os.getpid()}_{uuid.uuid4().hex[:8]}_{next(self._counter)}"
        with psycopg.connect(self.pg.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.pg.url.rsplit("/", 1)[0] + f"/{name}"

    @contextlib.contextmanager
    def store(self, workdir: Path) -> Iterator[StoreTarget]:
        if self.cluster is None:
            self.cluster = RedisClusterServers(masters=3).start()
        self.cluster.flush()
        target = ClusterMaster(self.cluster)
        try:
            yield target
        finally:
            target.restart()  # a scenario that stopped half-way leaves no node down for the next

    def close(self) -> None:
        for server in (self.cluster, self.pg):
            if server is not None:
                server.stop()
        self.cluster = self.pg = None


def make(name: str) -> Backends:
    return Distributed() if name == "postgres-cluster" else Embedded()

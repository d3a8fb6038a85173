"""Throw-away PostgreSQL and Redis Cluster servers on free loopback ports (tests, benchmarks).

``PostgresServer`` runs ``initdb`` + ``pg_ctl`` in a private temp folder (as ``nobody`` when we
are root, because initdb refuses root); ``RedisCluster`` starts N ``redis-server
--cluster-enabled yes`` and joins them with ``redis-cli --cluster create``. Both listen on
127.0.0.1 only, keep nothing after ``stop()`` and never touch a system service.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from recsys_tui.faults.outcome import CheckError
from recsys_tui.faults.servers import REDIS_BINARY, free_port

START_TIMEOUT_S = 30.0


def postgres_bin(name: str) -> str | None:
    """``name`` (initdb, pg_ctl) on PATH, else under Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _as_owner(cmd: list[str]) -> list[str]:
    """Run ``cmd`` as ``nobody`` when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise CheckError("running as root needs runuser to start PostgreSQL as an unprivileged user")
    return [runuser, "-u", "nobody", "--", *cmd]


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster (trust auth on loopback, fsync on) in a temp folder."""

    port: int = field(default_factory=free_port)
    user: str = "recsys"
    root: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(_as_owner(list(args)), capture_output=True, text=True,
                              timeout=START_TIMEOUT_S, check=False)
        if done.returncode != 0:
            raise CheckError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-300:]}")

    def start(self) -> PostgresServer:
        initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise CheckError("PostgreSQL binaries not found (apt install postgresql)")
        # As root the server runs as nobody, who must reach the folder: keep it directly in /tmp.
        shared = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="recsys-pg-", dir=shared))
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
        data = self.root / "data"
        self._run(initdb, "-D", str(data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.restart()
        return self

    def restart(self) -> None:
        """Start the server on its data folder (again, after ``kill``)."""
        assert self.root is not None
        self._run(postgres_bin("pg_ctl") or "pg_ctl", "-D", str(self.root / "data"), "-l",
                  str(self.root / "log"), "-w", "-t", "30", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=50", "start")

    def kill(self) -> None:
        """Stop at once, as a crash would (``-m immediate``: no shutdown checkpoint, clients cut);
        the data stays for ``restart``, which recovers from the write-ahead log."""
        assert self.root is not None
        self._run(postgres_bin("pg_ctl") or "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate",
                  "-w", "stop")

    def stop(self) -> None:
        if self.root is None:
            return
        pg_ctl = postgres_bin("pg_ctl")
        if pg_ctl and (self.root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(CheckError, subprocess.TimeoutExpired):
                self._run(pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free as well."""
    import socket

    for _ in range(200):
        port = free_port()
        if port + 10000 < 65536:
            with contextlib.closing(socket.socket()) as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
                return port
    raise CheckError("no free port pair for a Redis Cluster node")


@dataclass
class RedisClusterServers:
    """``masters`` cluster nodes (plus ``replicas`` per master) on free loopback ports."""

    masters: int = 3
    replicas: int = 0
    ports: list[int] = field(default_factory=list)
    procs: dict[int, subprocess.Popen] = field(default_factory=dict)
    root: Path | None = None

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def _spawn(self, port: int) -> None:
        assert self.root is not None and REDIS_BINARY is not None
        node = self.root / str(port)
        node.mkdir(exist_ok=True)
        self.procs[port] = subprocess.Popen(
            [REDIS_BINARY, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", str(node / "nodes.conf"), "--cluster-node-timeout", "1000",
             "--repl-diskless-sync-delay", "0",
             "--save", "", "--appendonly", "no", "--dir", str(node), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> RedisClusterServers:
        cli = shutil.which("redis-cli")
        if REDIS_BINARY is None or cli is None:
            raise CheckError("a Redis Cluster needs redis-server and redis-cli (apt install redis-server)")
        self.root = Path(tempfile.mkdtemp(prefix="recsys-cluster-"))
        self.ports = []
        while len(self.ports) < self.masters * (1 + self.replicas):
            port = _cluster_port()
            if port not in self.ports:
                self.ports.append(port)
        for port in self.ports:
            self._spawn(port)
        for port in self.ports:
            self._wait_port(port)
        done = subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False)
        if done.returncode != 0:
            self.stop()
            raise CheckError(f"redis-cli --cluster create failed: {done.stdout[-300:]}{done.stderr[-300:]}")
        for port in self.ports:
            self._wait_ok(cli, port)
            self._wait_replica_synced(cli, port)
        return self

    @staticmethod
    def _wait_replica_synced(cli: str, port: int) -> None:
        """A replica that never synced has no data age a failover would accept: wait for its link."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            out = subprocess.run([cli, "-p", str(port), "info", "replication"], capture_output=True,
                                 text=True, timeout=5, check=False).stdout
            if "role:slave" not in out or "master_link_status:up" in out:
                return
            time.sleep(0.1)
        raise CheckError(f"cluster replica {port} never synced with its master")

    @staticmethod
    def _wait_port(port: int) -> None:
        import socket

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            time.sleep(0.02)
        raise CheckError(f"cluster node {port} did not start")

    @staticmethod
    def _wait_ok(cli: str, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            out = subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True,
                                 text=True, timeout=5, check=False).stdout
            if "cluster_state:ok" in out:
                return
            time.sleep(0.1)
        raise CheckError(f"cluster node {port} never reported cluster_state:ok")

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        cli = shutil.which("redis-cli") or "redis-cli"
        for port in self.master_ports():
            subprocess.run([cli, "-p", str(port), "flushall"], capture_output=True, timeout=10, check=True)

    def master_ports(self) -> list[int]:
        cli = shutil.which("redis-cli") or "redis-cli"
        out = subprocess.run([cli, "-p", str(self.ports[0]), "cluster", "nodes"], capture_output=True,
                             text=True, timeout=5, check=False).stdout
        return sorted(int(line.split()[1].split(":")[1].split("@")[0]) for line in out.splitlines()
                      if "master" in line.split()[2] and "fail" not in line.split()[2])

    @staticmethod
    def _serving_masters(cli: str, port: int) -> list[int]:
        """Ports of the masters that hold slots and are not even suspected down (``fail?``)."""
        out = subprocess.run([cli, "-p", str(port), "cluster", "nodes"], capture_output=True,
                             text=True, timeout=5, check=False).stdout
        return sorted(int(f[1].split(":")[1].split("@")[0]) for f in map(str.split, out.splitlines())
                      if len(f) > 8 and "master" in f[2] and "fail" not in f[2])

    def restart(self, port: int) -> None:
        """Start a killed node again on its port and config (it rejoins with its slots, empty)."""
        self._spawn(port)
        self._wait_port(port)
        self._wait_ok(shutil.which("redis-cli") or "redis-cli", port)

    def wait_failover(self, dead: int) -> None:
        """Wait until a replica took over the killed master ``dead`` and the cluster is ok."""
        cli = shutil.which("redis-cli") or "redis-cli"
        alive = next(p for p in self.ports if p != dead)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            info = subprocess.run([cli, "-p", str(alive), "cluster", "info"], capture_output=True,
                                  text=True, timeout=5, check=False).stdout
            if "cluster_state:ok" in info and dead not in self.master_ports() \
                    and len(self._serving_masters(cli, alive)) == self.masters:
                return
            time.sleep(0.1)
        raise CheckError(f"no replica took over from {dead}")

    def kill(self, port: int) -> None:
        proc = self.procs.get(port)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.procs.clear()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

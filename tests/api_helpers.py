"""Helpers for the API tests: a running ``recsys-tui serve`` / ``web`` on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from recsys_tui.faults.servers import free_port


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Block until ``127.0.0.1:port`` accepts connections (or the process died / time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


class CliServer:
    """``recsys-tui --home H [--redis-url U] <command> --port P ...`` as a child process."""

    def __init__(self, home: Path, command: str, *args: str, redis_url: str | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "recsys_tui", "--home", str(home)]
        if redis_url:
            argv += ["--redis-url", redis_url]
        argv += [command, "--port", str(self.port), *args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> CliServer:
        wait_for_port(self.port, self.proc, timeout)
        return self

    def stop(self) -> tuple[str, str]:
        """Stop the server (and the processes it started); return its stdout and stderr."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                out, err = self.proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                out, err = self.proc.communicate(timeout=10)
            return out, err
        return self.proc.communicate(timeout=10)

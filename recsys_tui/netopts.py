"""Checks shared by ``serve`` and ``web``: loopback by default, a free port, setup first."""

from __future__ import annotations

import contextlib
import ipaddress
import resource
import socket

from recsys_tui.context import STATE
from recsys_tui.usage import UsageProblem


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int) -> None:
    """A usage error unless ``host:port`` can be bound right now."""
    if not 1 <= port <= 65535:
        raise UsageProblem(f"--port must be 1–65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageProblem(f"--host {host!r} is not an address this machine can bind") from None
    family, _, _, _, addr = infos[0]
    with contextlib.closing(socket.socket(family, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            raise UsageProblem(f"cannot listen on {host}:{port} ({exc.strerror}); "
                               "pick another --port") from None


def ensure_home_ready() -> None:
    """First use fetches the data set and trains (once, here, not in every worker or browser
    session)."""
    from recsys_tui.context import ensure_home

    ensure_home()


def warn_if_exposed(host: str, what: str) -> None:
    if not is_loopback(host):
        STATE.err.print(f"note: {what} listens on {host}, reachable from other machines", markup=False)


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one (thousands of keep-alive connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft

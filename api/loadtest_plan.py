"""A load test's plan: which routes in what mix, how long, how many connections, closed loop or a
fixed offered rate, and the checks that keep it bounded and on this machine (loopback only)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

from recsys_tui.common.errors import RecsysError

ROUTES = ("recommend", "events", "similar")
MAX_DURATION_S = 600
MAX_CONNECTIONS = 1024
MAX_IDLE = 10_000
MAX_RATE = 100_000
REQUEST_TIMEOUT_S = 10.0
N_ML_USERS, N_ML_ITEMS = 943, 1682


class LoadTestError(RecsysError):
    """The load test cannot run as asked (a bad flag, a non-loopback URL, a server that won't answer)."""

    exit_code = 2


def parse_mix(text: str) -> dict[str, int]:
    """``recommend:9,events:1`` → weights per route (every weight a non-negative integer)."""
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        if name not in ROUTES or not weight.strip().isdigit():
            raise LoadTestError(f"--mix expects route:weight pairs from {', '.join(ROUTES)}, got {text!r}")
        mix[name] = mix.get(name, 0) + int(weight)
    if sum(mix.values()) == 0:
        raise LoadTestError(f"--mix needs at least one positive weight, got {text!r}")
    return {k: v for k, v in mix.items() if v}


def loopback_target(url: str) -> tuple[str, int]:
    """(host, port) of ``url`` when it is http(s) on a loopback address; ``LoadTestError`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoadTestError(f"--url must be http://127.0.0.1:PORT or similar, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addrs = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (ValueError, socket.gaierror):
        raise LoadTestError(f"--url host {parts.hostname!r} cannot be resolved") from None
    if not all(ip_address(a.split("%")[0]).is_loopback for a in addrs):
        raise LoadTestError(f"the load test only targets this machine (loopback); {parts.hostname!r} is not")
    return parts.hostname, port


@dataclass(frozen=True)
class LoadPlan:
    """``rate`` 0: closed loop (each connection sends its next request when the last one answered);
    above 0: that many requests/s in total, spread evenly over the connections (fixed rate)."""

    url: str
    duration_s: float = 30.0
    connections: int = 64
    mix: dict[str, int] = field(default_factory=lambda: {"recommend": 9, "events": 1})
    idle: int = 0
    max_requests: int = 2_000_000
    warmup_s: float = 2.0
    event_users: int = 64
    token: str | None = None
    seed: int = 0
    rate: float = 0.0

    def check(self) -> LoadPlan:
        loopback_target(self.url)
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise LoadTestError(f"--duration must be above 0 and at most {MAX_DURATION_S} seconds, "
                                f"got {self.duration_s:g}")
        if not 1 <= self.connections <= MAX_CONNECTIONS:
            raise LoadTestError(f"--connections must be 1–{MAX_CONNECTIONS}, got {self.connections}")
        if not 0 <= self.idle <= MAX_IDLE:
            raise LoadTestError(f"--idle must be 0–{MAX_IDLE}, got {self.idle}")
        if not 1 <= self.max_requests <= 100_000_000:
            raise LoadTestError(f"--max-requests must be 1–100000000, got {self.max_requests}")
        if not 0 <= self.warmup_s <= 60:
            raise LoadTestError(f"--warmup must be 0–60 seconds, got {self.warmup_s:g}")
        if not 1 <= self.event_users <= 1000:
            raise LoadTestError(f"--event-users must be 1–1000, got {self.event_users}")
        if not 0 <= self.rate <= MAX_RATE:
            raise LoadTestError(f"--rate must be 0 (closed loop) to {MAX_RATE} requests/s, got {self.rate:g}")
        return self

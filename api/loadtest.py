"""A bounded HTTP load generator for the API (aiohttp): weighted route mix, idle keep-alive
connections held open meanwhile, per-route latency percentiles, and an audit of every event.

Events go to users the run creates itself (``POST /users``), so the audit is exact: afterwards the
log must hold every acknowledged event exactly once and nothing else for those users.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import socket
import time
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

from recsys_tui.common.errors import RecsysError
from recsys_tui.core.results import percentile

ROUTES = ("recommend", "events", "similar")
MAX_DURATION_S = 600
MAX_CONNECTIONS = 1024
MAX_IDLE = 10_000
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
        return self


@dataclass
class RouteStats:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def row(self, route: str, elapsed_s: float) -> dict:
        ms = [v / 1e6 for v in self.latencies_ns]
        return {"route": route, "requests": len(ms) + self.errors, "ok": len(ms), "errors": self.errors,
                "req_per_s": round(len(ms) / elapsed_s, 1) if elapsed_s else 0.0,
                "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3),
                "p99.9_ms": round(percentile(ms, 99.9), 3), "max_ms": round(max(ms, default=float("nan")), 3),
                "statuses": dict(sorted(self.statuses.items()))}


@dataclass
class LoadReport:
    plan: LoadPlan
    elapsed_s: float
    routes: dict[str, RouteStats]
    client_cpu_s: float
    idle_opened: int = 0
    idle_alive: int = 0
    acked_events: int = 0
    lost_events: int = 0
    unacked_logged: int = 0
    duplicate_events: int = 0
    server_metrics: dict = field(default_factory=dict)

    @property
    def total_ok(self) -> int:
        return sum(len(s.latencies_ns) for s in self.routes.values())

    @property
    def total_errors(self) -> int:
        return sum(s.errors for s in self.routes.values())

    def as_dict(self) -> dict:
        p = self.plan
        return {
            "url": p.url, "duration_s": p.duration_s, "connections": p.connections, "mix": p.mix,
            "elapsed_s": round(self.elapsed_s, 3),
            "req_per_s": round(self.total_ok / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "errors": self.total_errors,
            "routes": [s.row(r, self.elapsed_s) for r, s in self.routes.items()],
            "idle_connections": {"asked": p.idle, "opened": self.idle_opened,
                                 "alive_at_end": self.idle_alive},
            "events": {"acknowledged": self.acked_events, "lost": self.lost_events,
                       "logged_but_not_acknowledged": self.unacked_logged,
                       "duplicated": self.duplicate_events},
            "client_cpu": {"seconds": round(self.client_cpu_s, 2),
                           "share_of_one_core": round(self.client_cpu_s / self.elapsed_s, 3)
                           if self.elapsed_s else 0.0},
            "server_metrics": self.server_metrics,
        }


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _Idle:
    """Raw keep-alive connections that each answered one /healthz and then sit idle."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._request = (f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         "Connection: keep-alive\r\n\r\n").encode()

    async def _ask(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(self._request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await asyncio.wait_for(reader.readexactly(length), REQUEST_TIMEOUT_S)
        return head.startswith(b"HTTP/1.1 200")

    async def _open_one(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port),
                                                    REQUEST_TIMEOUT_S)
            if await self._ask(reader, writer):
                self.conns.append((reader, writer))
            else:
                writer.close()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            return

    async def open(self, n: int, batch: int = 100) -> int:
        for start in range(0, n, batch):
            await asyncio.gather(*(self._open_one() for _ in range(min(batch, n - start))))
        return len(self.conns)

    async def alive(self, batch: int = 100) -> int:
        """How many still answer on the same connection (the server kept them open)."""
        async def check(pair) -> bool:
            try:
                return await self._ask(*pair)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                return False

        ok = 0
        for start in range(0, len(self.conns), batch):
            ok += sum(await asyncio.gather(*(check(p) for p in self.conns[start:start + batch])))
        return ok

    def close(self) -> None:
        for _, writer in self.conns:
            writer.close()


async def run_load(plan: LoadPlan) -> LoadReport:
    """Run ``plan`` and return what happened (the caller prints it)."""
    import aiohttp

    plan.check()
    host, port = loopback_target(plan.url)
    base = plan.url.rstrip("/")
    headers = {"Authorization": f"Bearer {plan.token}"} if plan.token else {}
    rng = random.Random(plan.seed)
    deck = [r for r, w in plan.mix.items() for _ in range(w)]
    stats = {r: RouteStats() for r in plan.mix}
    acked: list[tuple[int, int]] = []
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=plan.connections, limit_per_host=plan.connections)
    idle = _Idle(host, port)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        try:
            async with session.get(f"{base}/healthz") as r:
                if r.status != 200:
                    raise LoadTestError(f"{base}/healthz answered {r.status}")
        except aiohttp.ClientError as exc:
            raise LoadTestError(f"cannot reach {base}: {exc}") from None
        users = []
        if "events" in plan.mix:
            for _ in range(plan.event_users):
                async with session.post(f"{base}/users") as r:
                    if r.status != 201:
                        raise LoadTestError(f"POST /users answered {r.status}: {(await r.text())[:200]}")
                    users.append((await r.json())["user"])
        opened = await idle.open(plan.idle) if plan.idle else 0

        counted = False
        issued = 0

        async def one(route: str) -> None:
            if route == "recommend":
                req = session.get(f"{base}/recommend?user={rng.randint(1, N_ML_USERS)}&k=10")
            elif route == "similar":
                req = session.get(f"{base}/similar?item={rng.randint(1, N_ML_ITEMS)}&k=10")
            else:
                kind = "rating" if rng.random() < 0.8 else "click"
                body = {"user": rng.choice(users), "item": rng.randint(1, N_ML_ITEMS), "kind": kind}
                if kind == "rating":
                    body["rating"] = rng.randint(1, 5)
                req = session.post(f"{base}/events", json=body)
            t0 = time.perf_counter_ns()
            s = stats[route]
            try:
                async with req as r:
                    data = await r.read()
                    dt = time.perf_counter_ns() - t0
                    if counted:
                        s.statuses[str(r.status)] = s.statuses.get(str(r.status), 0) + 1
                    if r.status >= 400:
                        if counted:
                            s.errors += 1
                        return
                    if route == "events":
                        acked.append((body["user"], json.loads(data)["event_id"]))
            except (TimeoutError, aiohttp.ClientError, ValueError, KeyError):
                if counted:
                    s.errors += 1
                    s.statuses["exception"] = s.statuses.get("exception", 0) + 1
                return
            if counted:
                s.latencies_ns.append(dt)

        async def loop(until: float) -> None:
            nonlocal issued
            while time.monotonic() < until and issued < plan.max_requests:
                if counted:
                    issued += 1
                await one(rng.choice(deck))

        if plan.warmup_s:
            warm_end = time.monotonic() + plan.warmup_s
            await asyncio.gather(*(loop(warm_end) for _ in range(plan.connections)))
        acked.clear()
        counted = True
        cpu0, t0 = _cpu_s(), time.monotonic()
        await asyncio.gather(*(loop(t0 + plan.duration_s) for _ in range(plan.connections)))
        elapsed, cpu = time.monotonic() - t0, _cpu_s() - cpu0
        report = LoadReport(plan, elapsed, stats, cpu, idle_opened=opened)
        report.idle_alive = await idle.alive() if opened else 0
        idle.close()
        if users:
            await _audit(session, base, users, acked, report)
        report.server_metrics = await _server_metrics(session, base)
    return report


async def _audit(session, base: str, users: list[int], acked: list[tuple[int, int]],
                 report: LoadReport) -> None:
    """Every acknowledged event must be in the log exactly once (the run's users have no others
    except the warm-up's, which are excluded by id)."""
    acked_ids = [e for _, e in acked]
    report.acked_events = len(acked_ids)
    first = min(acked_ids, default=0)
    logged: list[int] = []
    for user in users:
        async with session.get(f"{base}/users/{user}/history") as r:
            if r.status != 200:
                raise LoadTestError(f"history of user {user} answered {r.status}")
            logged += [e["event_id"] for e in (await r.json())["events"] if e["event_id"] >= first]
    want, got = set(acked_ids), set(logged)
    report.lost_events = len(want - got)
    report.unacked_logged = len(got - want)
    report.duplicate_events = len(logged) - len(got) + len(acked_ids) - len(want)


async def _server_metrics(session, base: str) -> dict:
    """The server's own view from /metrics: requests per route and status, mean latency, events."""
    from prometheus_client.parser import text_string_to_metric_families

    async with session.get(f"{base}/metrics") as r:
        if r.status != 200:
            return {"error": f"/metrics answered {r.status}"}
        text = await r.text()
    out: dict = {"requests": {}, "mean_latency_ms": {}, "events_recorded": {}}
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if fam.name == "recsys_http_requests" and s.name.endswith("_total"):
                key = f"{s.labels['method']} {s.labels['route']} {s.labels['status']}"
                out["requests"][key] = int(s.value)
            elif fam.name == "recsys_http_request_duration_seconds":
                route = s.labels.get("route", "")
                if s.name.endswith("_sum"):
                    sums[route] = sums.get(route, 0.0) + s.value
                elif s.name.endswith("_count"):
                    counts[route] = counts.get(route, 0.0) + s.value
            elif fam.name == "recsys_events_recorded" and s.name.endswith("_total"):
                out["events_recorded"][s.labels["kind"]] = int(s.value)
            elif fam.name == "recsys_model_info":
                out["model_version"] = s.labels["version"]
            elif fam.name == "recsys_store_up":
                out["store_up"] = bool(s.value)
    out["mean_latency_ms"] = {r: round(1000 * sums[r] / counts[r], 3) for r in sums if counts.get(r)}
    return out

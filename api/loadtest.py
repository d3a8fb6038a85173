"""A bounded HTTP load generator for the API: weighted route mix, closed loop or a fixed
offered rate, idle keep-alive connections held open meanwhile, per-route latency percentiles, and
an audit of every event.

Closed loop (``rate`` 0): each connection sends its next request as soon as the last one answered,
so the server's speed sets the rate and latency is queueing at saturation (Little's law). Fixed
rate (``rate`` R, wrk2 style): each of the C connections sends on its own schedule of R/C
requests/s, staggered so the sends are spread evenly, and each latency is counted from the
request's scheduled send time, so a stall is counted for every request it delayed.

The measured requests go over lean keep-alive connections (``loadtest_http``: the client shares
the cores with the server, so its CPU per request matters); setup and checks use aiohttp.

Events go to users the run creates itself (``POST /users``), so the audit is exact: afterwards the
log must hold every acknowledged event exactly once and nothing else for those users.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from recsys_tui.api.loadtest_checks import IdleConnections, audit_events, server_metrics
from recsys_tui.api.loadtest_http import HttpConnection
from recsys_tui.api.loadtest_plan import (
    N_ML_ITEMS,
    N_ML_USERS,
    REQUEST_TIMEOUT_S,
    ROUTES,
    LoadPlan,
    LoadTestError,
    loopback_target,
    parse_mix,
)
from recsys_tui.api.loadtest_report import CpuMeter, LoadReport, RouteStats

__all__ = ["ROUTES", "LoadPlan", "LoadReport", "LoadTestError", "loopback_target", "parse_mix", "run",
           "run_load"]


FAILURES = (TimeoutError, OSError, EOFError, asyncio.LimitOverrunError, ValueError, KeyError)


class _Driver:
    """Sends the plan's requests, one lean connection per simulated client (``loadtest_http``),
    and keeps what the measured phase saw."""

    def __init__(self, plan: LoadPlan, users: list[int]) -> None:
        self.plan, self.users = plan, users
        host, port = loopback_target(plan.url)
        headers = {"Authorization": f"Bearer {plan.token}"} if plan.token else {}
        tls = plan.url.startswith("https:")
        self.conns = [HttpConnection(host, port, headers, tls, REQUEST_TIMEOUT_S)
                      for _ in range(plan.connections)]
        self.rng = random.Random(plan.seed)
        self.deck = [r for r, w in plan.mix.items() for _ in range(w)]
        self.stats = {r: RouteStats() for r in plan.mix}
        self.acked: list[tuple[int, int]] = []
        self.counted = False
        self.issued = 0
        self.behind_max_ns = 0

    def _request(self, route: str) -> tuple[str, str, dict | None]:
        rng = self.rng
        if route == "recommend":
            return "GET", f"/recommend?user={rng.randint(1, N_ML_USERS)}&k=10", None
        if route == "similar":
            return "GET", f"/similar?item={rng.randint(1, N_ML_ITEMS)}&k=10", None
        kind = "rating" if rng.random() < 0.8 else "click"
        body: dict = {"user": rng.choice(self.users), "item": rng.randint(1, N_ML_ITEMS), "kind": kind}
        if kind == "rating":
            body["rating"] = rng.randint(1, 5)
        return "POST", "/events", body

    async def one(self, conn: HttpConnection, route: str, due_ns: int | None) -> None:
        """Send one request; its latency runs from ``due_ns`` (fixed rate) or from the send."""
        method, target, body = self._request(route)
        payload = json.dumps(body).encode() if body is not None else None
        s, counted = self.stats[route], self.counted
        sent = time.perf_counter_ns()
        try:
            status, data = await conn.request(method, target, payload)
            done = time.perf_counter_ns()
            if counted:
                s.count(str(status))
            if status >= 400:
                if counted:
                    s.errors += 1
                return
            if body is not None:
                self.acked.append((body["user"], json.loads(data)["event_id"]))
        except FAILURES:
            if counted:
                s.errors += 1
                s.count("exception")
            return
        if counted:
            s.latencies_ns.append(done - (sent if due_ns is None else due_ns))
            if due_ns is not None:
                s.from_send_ns.append(done - sent)

    def _more(self) -> bool:
        if not self.counted:
            return True
        if self.issued >= self.plan.max_requests:
            return False
        self.issued += 1
        return True

    async def closed(self, n: int, end_ns: int) -> None:
        conn = self.conns[n]
        while time.perf_counter_ns() < end_ns and self._more():
            await self.one(conn, self.rng.choice(self.deck), None)

    async def paced(self, n: int, start_ns: int, end_ns: int) -> None:
        """Connection ``n``'s schedule: every C/R seconds, offset by n/R from the others."""
        rate, conns, conn = self.plan.rate, self.plan.connections, self.conns[n]
        due = start_ns + round(n * 1e9 / rate)
        step = conns * 1e9 / rate
        k = 0
        while due < end_ns and self._more():
            now = time.perf_counter_ns()
            if due > now:
                await asyncio.sleep((due - now) / 1e9)
                now = time.perf_counter_ns()
            if self.counted:
                self.behind_max_ns = max(self.behind_max_ns, now - due)
            await self.one(conn, self.rng.choice(self.deck), due)
            k += 1
            due = start_ns + round(n * 1e9 / rate + k * step)

    async def phase(self, seconds: float) -> None:
        start = time.perf_counter_ns()
        end = start + round(seconds * 1e9)
        conns = range(self.plan.connections)
        if self.plan.rate:
            await asyncio.gather(*(self.paced(n, start, end) for n in conns))
        else:
            await asyncio.gather(*(self.closed(n, end) for n in conns))

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


async def run_load(plan: LoadPlan) -> LoadReport:
    """Run ``plan`` and return what happened (the caller prints it)."""
    import aiohttp

    plan.check()
    host, port = loopback_target(plan.url)
    base = plan.url.rstrip("/")
    headers = {"Authorization": f"Bearer {plan.token}"} if plan.token else {}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=plan.connections, limit_per_host=plan.connections)
    idle = IdleConnections(host, port)
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
        driver = _Driver(plan, users)
        try:
            if plan.warmup_s:
                await driver.phase(plan.warmup_s)
            driver.acked.clear()
            driver.counted = True
            meter, t0 = CpuMeter(), time.monotonic()
            await driver.phase(plan.duration_s)
            elapsed = time.monotonic() - t0
        finally:
            driver.close()
        report = LoadReport(plan, elapsed, driver.stats, meter.read(elapsed), idle_opened=opened,
                            behind_max_ms=driver.behind_max_ns / 1e6)
        report.idle_alive = await idle.alive() if opened else 0
        idle.close()
        if users:
            await audit_events(session, base, users, driver.acked, report)
        report.server_metrics = await server_metrics(session, base)
    return report


def run(plan: LoadPlan) -> LoadReport:
    """``run_load`` on uvloop when it is installed (less client CPU per request), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        report = asyncio.run(run_load(plan))
        report.event_loop = "asyncio"
        return report
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(run_load(plan))
    report.event_loop = "uvloop"
    return report

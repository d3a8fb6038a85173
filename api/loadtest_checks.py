"""What a load test checks besides latency: idle keep-alive connections held open, the audit of
every acknowledged event against the log, and the server's own view from ``/metrics``."""

from __future__ import annotations

import asyncio

from recsys_tui.api.loadtest_plan import REQUEST_TIMEOUT_S, LoadTestError
from recsys_tui.api.loadtest_report import LoadReport


class IdleConnections:
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


async def audit_events(session, base: str, users: list[int], acked: list[tuple[int, int]],
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


async def server_metrics(session, base: str) -> dict:
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

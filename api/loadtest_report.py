"""What a load-test run measured: per-route latencies, the whole report, and CPU use on this machine.

In fixed-rate mode each latency is counted from the request's *scheduled* send time (wrk2's
correction for coordinated omission: a stalled server delays the requests queued behind it, and
that delay is counted); the time from the actual send is kept beside it, so a late client and a
slow server can be told apart.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

from recsys_tui.core.results import percentile

CLOSED_LOOP = "closed-loop"
FIXED_RATE = "fixed-rate"


def _pcts(ms: list[float], suffix: str = "") -> dict[str, float]:
    return {f"p50{suffix}_ms": round(percentile(ms, 50), 3), f"p99{suffix}_ms": round(percentile(ms, 99), 3),
            f"p99.9{suffix}_ms": round(percentile(ms, 99.9), 3)}


@dataclass
class RouteStats:
    """Latencies of one route's answered requests (ns), its errors and statuses."""

    latencies_ns: list[int] = field(default_factory=list)
    from_send_ns: list[int] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def row(self, route: str, elapsed_s: float, paced: bool) -> dict:
        ms = [v / 1e6 for v in self.latencies_ns]
        row = {"route": route, "requests": len(ms) + self.errors, "ok": len(ms), "errors": self.errors,
               "req_per_s": round(len(ms) / elapsed_s, 1) if elapsed_s else 0.0, **_pcts(ms),
               "max_ms": round(max(ms, default=float("nan")), 3)}
        if paced:
            row.update(_pcts([v / 1e6 for v in self.from_send_ns], "_from_send"))
        row["statuses"] = dict(sorted(self.statuses.items()))
        return row


class CpuMeter:
    """This process's CPU seconds and, on Linux, the busy share of every core (all processes)."""

    def __init__(self) -> None:
        self._own = self._own_s()
        self._machine = self._machine_ticks()

    @staticmethod
    def _own_s() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    @staticmethod
    def _machine_ticks() -> tuple[int, int] | None:
        """(busy, total) jiffies of all cores from /proc/stat; None where there is none."""
        try:
            first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        except OSError:
            return None
        if not first or first[0] != "cpu":
            return None
        ticks = [int(v) for v in first[1:9]]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return sum(ticks) - idle, sum(ticks)

    def read(self, elapsed_s: float) -> dict:
        """CPU used since construction: the client's seconds and share of one core, the machine's
        busy share of all its cores (``None`` off Linux)."""
        own = self._own_s() - self._own
        out: dict = {"seconds": round(own, 2),
                     "share_of_one_core": round(own / elapsed_s, 3) if elapsed_s else 0.0,
                     "machine_cores": os.cpu_count(), "machine_busy_share": None}
        now = self._machine_ticks()
        if self._machine is not None and now is not None and now[1] > self._machine[1]:
            out["machine_busy_share"] = round((now[0] - self._machine[0]) / (now[1] - self._machine[1]), 3)
        return out


@dataclass
class LoadReport:
    """One run: the plan's knobs, elapsed time, per-route stats, CPU, idle connections, audit, /metrics."""

    plan: object  # a LoadPlan (loadtest.py), kept untyped here to avoid an import cycle
    elapsed_s: float
    routes: dict[str, RouteStats]
    cpu: dict
    event_loop: str = "asyncio"
    behind_max_ms: float = 0.0
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
        paced = bool(p.rate)
        return {
            "url": p.url, "mode": FIXED_RATE if paced else CLOSED_LOOP,
            "offered_rate": p.rate if paced else None,
            "duration_s": p.duration_s, "connections": p.connections, "mix": p.mix,
            "elapsed_s": round(self.elapsed_s, 3),
            "req_per_s": round(self.total_ok / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "errors": self.total_errors,
            "latency_from": "scheduled send time" if paced else "send",
            "client_behind_schedule_max_ms": round(self.behind_max_ms, 3) if paced else None,
            "routes": [s.row(r, self.elapsed_s, paced) for r, s in self.routes.items()],
            "idle_connections": {"asked": p.idle, "opened": self.idle_opened,
                                 "alive_at_end": self.idle_alive},
            "events": {"acknowledged": self.acked_events, "lost": self.lost_events,
                       "logged_but_not_acknowledged": self.unacked_logged,
                       "duplicated": self.duplicate_events},
            "client_cpu": self.cpu, "client_event_loop": self.event_loop,
            "server_metrics": self.server_metrics,
        }

"""``recsys-tui loadtest``: drive a running ``recsys-tui serve`` on this machine (closed loop or at a
fixed offered rate) and report requests/s, p50/p99/p99.9 per route, errors, lost events, idle
connections held, the client's and the machine's CPU, and the server's /metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.text import plain
from recsys_tui.context import STATE
from recsys_tui.options import command_app
from recsys_tui.output import emit
from recsys_tui.usage import UsageProblem, choice

app = command_app()
TOKEN_ENV = "RECSYS_TUI_API_TOKEN"


class LoadTestUnavailable(RecsysError):
    """The [serve] extra (aiohttp, prometheus-client) is not installed."""


def _print(report: dict) -> None:
    keys = ["route", "requests", "errors", "req_per_s", "p50_ms", "p99_ms", "p99.9_ms", "max_ms"]
    cols = ["route", "n", "err", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"]
    rows = [[r[c] for c in keys] for r in report["routes"]]
    rows.append(["all", sum(r["requests"] for r in report["routes"]), report["errors"], report["req_per_s"],
                 "", "", "", ""])
    mix = ",".join(f"{k}:{v}" for k, v in report["mix"].items())
    mode = (f"fixed rate {report['offered_rate']:g}/s" if report["offered_rate"] else "closed loop")
    emit(STATE.console, cols, rows, "table",
         title=f"{plain(report['url'])} · {mode} · {report['connections']} connections · mix {mix} · "
               f"{report['elapsed_s']:.1f} s")
    idle, ev, cpu = report["idle_connections"], report["events"], report["client_cpu"]
    say = STATE.console.print
    if report["offered_rate"]:
        say("latency counted from each request's scheduled send time; from the actual send: "
            + "; ".join(f"{r['route']} p50 {r['p50_from_send_ms']} / p99 {r['p99_from_send_ms']} ms"
                        for r in report["routes"])
            + f"; client at most {report['client_behind_schedule_max_ms']} ms behind schedule",
            markup=False)
    if idle["asked"]:
        say(f"idle keep-alive connections: {idle['opened']}/{idle['asked']} opened, "
            f"{idle['alive_at_end']} still open at the end", markup=False)
    if ev["acknowledged"] or ev["lost"]:
        say(f"events: {ev['acknowledged']} acknowledged, {ev['lost']} lost, {ev['duplicated']} duplicated, "
            f"{ev['logged_but_not_acknowledged']} logged without an answer", markup=False)
    machine = cpu["machine_busy_share"]
    say(f"client CPU: {cpu['seconds']} s ({100 * cpu['share_of_one_core']:.0f}% of one core, "
        f"{report['client_event_loop']})"
        + (f"; machine: {100 * machine:.0f}% of {cpu['machine_cores']} cores busy (all processes)"
           if machine is not None else ""), markup=False)
    server = report["server_metrics"]
    if "error" in server:
        say(f"server /metrics: {plain(server['error'])}", markup=False)
        return
    say(f"server /metrics: model {plain(server.get('model_version', '?'))}, store "
        f"{'up' if server.get('store_up') else 'DOWN'}, events recorded {server.get('events_recorded', {})}",
        markup=False)
    for key, n in sorted(server["requests"].items()):
        say(f"  {plain(key)}: {n}", markup=False)
    for route, ms in sorted(server["mean_latency_ms"].items()):
        say(f"  mean server-side latency {plain(route)}: {ms} ms", markup=False)


@app.command("loadtest")
def loadtest(
    url: Annotated[str, typer.Option("--url", help="A running API on this machine, "
                                     "e.g. http://127.0.0.1:8000 (loopback only).")],
    duration: Annotated[float, typer.Option("--duration", help="Measured seconds (at most 600).")] = 30.0,
    connections: Annotated[int, typer.Option("--connections", "-c",
                                             help="Concurrent connections (1–1024).")] = 64,
    rate: Annotated[float, typer.Option("--rate", help="Requests/s offered in total, spread over the "
                                        "connections; latency counts from each scheduled send "
                                        "(0: closed loop, as fast as answers come).")] = 0.0,
    mix: Annotated[str, typer.Option("--mix", help="Route weights from recommend, events, similar.")]
        = "recommend:9,events:1",
    idle: Annotated[int, typer.Option("--idle", help="Idle keep-alive connections to hold open "
                                      "meanwhile (0–10000).")] = 0,
    max_requests: Annotated[int, typer.Option("--max-requests", help="Stop after this many.")]
        = 2_000_000,
    warmup: Annotated[float, typer.Option("--warmup", help="Unmeasured seconds first (0–60).")] = 2.0,
    event_users: Annotated[int, typer.Option("--event-users", help="New users the run creates "
                                             "for its events (1–1000).")] = 64,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Also write the JSON report here.")] = None,
) -> None:
    """Load-test a running API (events go to users the run creates; each is audited in the log).

    Closed loop by default; --rate R offers R requests/s whatever the answers' speed (wrk2 style)
    and is the way to read a p99 at a given load.

    A bearer token, if the API needs one, is read from RECSYS_TUI_API_TOKEN.
    """
    from recsys_tui.common.fsutil import atomic_write_json
    from recsys_tui.netopts import raise_fd_limit

    choice(fmt, ("table", "json"), "format")
    try:
        from recsys_tui.api.loadtest import LoadPlan, LoadTestError, parse_mix, run
    except ImportError:
        raise LoadTestUnavailable("the load test needs the serve extra: "
                                  "pip install 'recsys-tui[serve]'") from None
    try:
        plan = LoadPlan(url, duration, connections, parse_mix(mix), idle, max_requests, warmup,
                        event_users, os.environ.get(TOKEN_ENV) or None, seed, rate).check()
    except LoadTestError as exc:
        raise UsageProblem(str(exc)) from None
    raise_fd_limit()
    pace = f" at {rate:g} requests/s" if rate else ""
    STATE.err.print(f"loading {plain(url)}{pace} for {warmup:g} s warm-up + {duration:g} s …",
                    markup=False)
    report = run(plan).as_dict()
    if out is not None:
        atomic_write_json(out, report)
    if fmt == "json":
        STATE.console.print_json(json.dumps(report))
    else:
        _print(report)
    if report["errors"] or report["events"]["lost"] or report["events"]["duplicated"]:
        raise typer.Exit(1)

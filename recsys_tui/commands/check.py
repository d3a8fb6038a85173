"""``recsys-tui check``: run the fault suite against a temp home and a real redis-server."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from recsys_tui.common.text import plain
from recsys_tui.console import note
from recsys_tui.context import STATE
from recsys_tui.options import JsonOpt, command_app
from recsys_tui.usage import UsageProblem, choice

app = command_app()


def _table(outcomes, totals: dict[str, int]) -> Table:
    table = Table(title="fault suite", title_justify="left")
    for col in ("scenario", "faults injected", "survived", "events written", "events found",
                "bad inputs tried", "crashes"):
        table.add_column(col, justify="left" if col == "scenario" else "right", no_wrap=col == "scenario")
    for o in outcomes:
        table.add_row(o.name, str(o.injected), str(o.survived), str(o.events_written),
                      str(o.events_found), str(o.bad_inputs), str(o.crashes))
    table.add_section()
    table.add_row("total", *(str(totals[k]) for k in ("faults_injected", "faults_survived", "events_written",
                                                       "events_found", "bad_inputs_tried", "crashes")))
    return table


@app.command("check")
def check(
    json_out: JsonOpt = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Smaller loads and fewer kills (~1 min).")] = False,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="SCENARIO",
        help="Run just this scenario (repeatable); an unknown name is refused with the list.")] = None,
    backends: Annotated[str, typer.Option(
        "--backends", metavar="KIND",
        help="Which log and store: sqlite-redis (each throw-away home's SQLite log, a redis-server "
             "per scenario), postgres-cluster (a throw-away PostgreSQL and 3-master Redis Cluster "
             "started here on loopback; runs the store and process scenarios) or all.")] = "sqlite-redis",
) -> None:
    """Inject faults (Redis and process kills, a slow or evicting Redis, racing undos, corrupt
    files, full disk, bad input) and report."""
    from recsys_tui.common.fsutil import atomic_write_json
    from recsys_tui.faults.backends import BACKENDS
    from recsys_tui.faults.outcome import totals
    from recsys_tui.faults.suite import BACKEND_SCENARIOS, POSTGRES_ONLY, SCENARIOS, planned, run_suite

    for name in only or ():
        choice(name, SCENARIOS, "scenario")
    choice(backends, (*BACKENDS, "all"), "backends")
    kinds = BACKENDS if backends == "all" else (backends,)
    if not any(planned(kind, tuple(only or SCENARIOS)) for kind in kinds):
        raise UsageProblem(f"nothing to run: --backends postgres-cluster runs only "
                           f"{', '.join(BACKEND_SCENARIOS)}; {', '.join(POSTGRES_ONLY)} needs it")
    start = time.perf_counter()
    outcomes = run_suite(STATE.home, quick=quick, say=lambda t: STATE.err.print(note(t)),
                         only=tuple(only) if only else SCENARIOS, backends=kinds)
    numbers = totals(outcomes)
    STATE.console.print(_table(outcomes, numbers))
    for o in outcomes:
        for failure in o.failures:
            STATE.console.print(Text.assemble(("not survived", "red"), f" {plain(o.name)}: "
                                              f"{plain(failure)}"))
        for key, value in o.notes.items():
            STATE.console.print(f"{o.name}: {key} = {value}", style="dim")
    elapsed = time.perf_counter() - start
    STATE.console.print(f"{numbers['faults_survived']}/{numbers['faults_injected']} faults survived, "
                        f"{numbers['events_found']}/{numbers['events_written']} events found, "
                        f"{numbers['crashes']} crashes in {numbers['bad_inputs_tried']:,} bad inputs "
                        f"({elapsed:.0f} s)")
    if json_out is not None:
        report = {**numbers, "quick": quick, "backends": list(kinds), "elapsed_s": round(elapsed, 1),
                  "scenarios": [
            {"name": o.name, "faults_injected": o.injected, "faults_survived": o.survived,
             "events_written": o.events_written, "events_found": o.events_found,
             "bad_inputs_tried": o.bad_inputs, "crashes": o.crashes, "failures": o.failures,
             "notes": {k: v if isinstance(v, int | float | str) else str(v) for k, v in o.notes.items()}}
            for o in outcomes]}
        atomic_write_json(json_out, report)
        STATE.console.print(f"wrote {json_out}")
    if numbers["faults_survived"] != numbers["faults_injected"] or numbers["crashes"]:
        raise typer.Exit(1)

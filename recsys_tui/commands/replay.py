"""``recsys-tui replay | report``: proof of learning (issue 5, docs/METHOD.md)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from recsys_tui.context import STATE
from recsys_tui.options import JsonOpt, SeedsOpt, command_app
from recsys_tui.usage import UsageProblem, output_file, positive, seeds

app = command_app()


def _command() -> str:
    return "recsys-tui " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def replay_table(report) -> Table:
    """HR@10 overall / new / returning, µs per event and ratios vs popularity and frozen."""
    table = Table(title=f"Prequential replay: {report.events:,} events, HR@10 "
                        f"({report.n_new_events:,} from new users, {report.n_returning_events:,} returning)",
                  title_justify="left")
    for col in ("strategy", "HR@10", "new users", "returning", "µs/event", "× popularity", "× frozen"):
        table.add_column(col, justify="left" if col == "strategy" else "right")

    def ratio(a: str, b: str) -> str:
        r = report.ratio(a, b)
        return "–" if r is None or a == b else f"{r:.2f}×"

    for row in report.rows:
        name = row.strategy + (" (context only)" if row.strategy == "frozen_nofallback" else "")
        table.add_row(name, f"{row.hr_at_10:.4f}", f"{row.hr_new:.4f}", f"{row.hr_returning:.4f}",
                      f"{row.us_per_event:,.0f}", ratio(row.strategy, "popularity"),
                      ratio(row.strategy, "frozen"))
    return table


def chart(curves: dict[str, list[tuple[int, float]]], window: int, width: int = 100) -> Text:
    """Moving-window HR@10 per strategy as a terminal line chart (plotext)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(min(width, 120), 20)
    for name, points in curves.items():
        if points:
            plt.plot([p[0] for p in points], [p[1] for p in points], label=name, marker="braille")
    plt.title(f"HR@10 over the last {window:,} events")
    plt.xlabel("events replayed")
    return Text.from_ansi(plt.build())


@app.command("replay")
def replay(
    train_fraction: Annotated[float, typer.Option(
        "--train-fraction", help="Share of ratings (by time) the batch model trains on.")] = 0.8,
    strategies: Annotated[str | None, typer.Option(
        help="Comma-separated: frozen, popularity, foldin, ease, transitions, blend, "
             "frozen_nofallback (default: all).")] = None,
    window: Annotated[int, typer.Option(help="Moving-window length for the chart.")] = 1000,
    limit: Annotated[int | None, typer.Option(help="Replay at most N events.")] = None,
    json_out: JsonOpt = None,
    chart_: Annotated[bool, typer.Option("--chart/--no-chart", help="Draw the moving-window chart.")]
    = True,
    model: Annotated[str | None, typer.Option(
        help="Batch model to train on the first part (default: the one the home publishes, "
             "with its parameters).")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="Model hyper-parameter key=value (repeatable; replaces the home's "
                              "parameters).")] = None,
) -> None:
    """Test-then-learn through the real engine: train on the past, replay the rest in time order."""
    from recsys_tui.common.fsutil import atomic_write_json
    from recsys_tui.training.replay import ReplayError, parse_strategies, run_replay

    if not 0 < train_fraction < 1:
        raise UsageProblem(f"--train-fraction must be between 0 and 1, got {train_fraction}")
    if window < 1:
        raise UsageProblem(f"--window must be ≥ 1, got {window}")
    positive(limit, "--limit")
    output_file(json_out)  # refuse before a 30-second replay, not after
    try:
        names = parse_strategies(strategies)
    except ReplayError as exc:
        raise UsageProblem(f"--strategies: {exc}") from None
    params = None
    if model is not None or param:  # checked before the home is created or touched
        from recsys_tui.models.registry import MODEL_NAMES
        from recsys_tui.params import parse_params
        from recsys_tui.training.replay import home_model

        model = model or home_model(STATE.home)[0]
        if model not in MODEL_NAMES:
            raise UsageProblem(f"unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
        params = parse_params(model, param or [])
    from recsys_tui.progress import stages

    home = STATE.home.ensure()
    start = time.perf_counter()
    with stages(STATE.err, "replay") as say:
        say("train on the first part, then replay")
        last = [0]

        def progress(strategy: str, done: int, hr: float) -> None:
            if strategy == names[0] and done - last[0] >= 5000:
                last[0] = done
                say(f"{done:,} events")

        report = run_replay(home, names, train_fraction, limit, window, progress, model=model,
                            params=params)
    STATE.console.print(replay_table(report))
    STATE.console.print(
        f"engine.record {report.record_us_per_event:,.0f} µs/event (included in every learning "
        f"strategy's cost) · walk {report.elapsed_s:.1f} s · setup {report.setup_s:.1f} s · total "
        f"{time.perf_counter() - start:.1f} s · model {report.model} · log {report.log_events:,} "
        f"events, store {report.store_events:,}")
    if chart_:
        STATE.console.print(chart(report.curves, window, STATE.console.width))
    if json_out is not None:
        atomic_write_json(json_out, {**report.to_json(), "command": _command()})
        STATE.console.print(f"wrote {json_out}")

@app.command("report")
def report(
    out: Annotated[Path | None, typer.Option(help="Output folder (default: <home>/reports).")] = None,
    limit: Annotated[int | None, typer.Option(
        help="Replay at most N events and adapt at most N users (quick runs).")] = None,
    seed_text: SeedsOpt = "42,43,44,45,46",
    models: Annotated[str | None, typer.Option(
        help="Comma-separated models to evaluate (default: als, ease, hybrid if available).")] = None,
) -> None:
    """Eval + replay + adaptation + differentiation → a Markdown report and its JSON."""
    from recsys_tui.training.report import build_report

    positive(limit, "--limit")
    seed_list = seeds(seed_text)
    model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None
    if models is not None and not model_list:
        raise UsageProblem("--models is empty")
    from recsys_tui.models.registry import MODEL_NAMES

    for name in model_list or []:
        if name not in MODEL_NAMES:
            raise UsageProblem(f"--models: unknown model {name!r}; "
                                   f"choose from {', '.join(MODEL_NAMES)}")
    from recsys_tui.progress import stages

    home = STATE.home.ensure()
    with stages(STATE.err, "report") as say:
        path, data = build_report(home, out, seeds=seed_list, models=model_list, limit=limit,
                                  command=_command(), say=say)
    STATE.console.print(f"wrote {path} and {path.with_suffix('.json').name} "
                        f"in {data['elapsed_s']:.1f} s")

"""``recsys-tui tune``: the grid searches that chose the defaults (offline and ``--online``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recsys_tui.context import STATE, ensure_dataset
from recsys_tui.options import JsonOpt, command_app
from recsys_tui.usage import UsageProblem, choice, output_file, positive

app = command_app()


@app.command("tune")
def tune(
    model: Annotated[str, typer.Option(help="Model whose grid to search.")] = "als",
    seed: Annotated[int, typer.Option(help="Split seed.")] = 42,
    json_out: JsonOpt = None,
    online: Annotated[bool, typer.Option(
        "--online", help="Search the online weighting (and the replay's online scorers) on the "
                         "training-period validation stream instead (docs/METHOD.md §10).")] = False,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", help="With --online: key=v1,v2,… (repeatable); a model parameter such as "
                       "online_weight, or GROUP.KEY of a replay scorer (ease.decay, blend.w_ease). "
                       "Default: online_weight=1,16,64,128 × online_decay=1,0.9,0.7.")] = None,
    limit: Annotated[int | None, typer.Option(
        help="With --online: replay at most N validation events per grid point.")] = None,
    metric: Annotated[str | None, typer.Option(
        help="With --online: the strategy whose HR@10 ranks the grid (default foldin, or blend "
             "when a replay scorer is searched).")] = None,
) -> None:
    """Grid-search hyper-parameters on a validation split carved from the training part."""
    output_file(json_out)
    if online:
        _tune_online(model, grid or [], limit, metric, json_out)
        return
    if grid or limit is not None or metric is not None:
        raise UsageProblem("--grid, --limit and --metric apply to tune --online only")
    _tune_offline(model, seed, json_out)


def _tune_offline(model: str, seed: int, json_out: Path | None) -> None:
    """``tune``: the model's grid on validation splits carved from the seed's training part."""
    from recsys_tui.progress import stages
    from recsys_tui.training.evaluate import METRICS
    from recsys_tui.training.tune import DEFAULT_GRIDS
    from recsys_tui.training.tune import tune as run_tune

    choice(model, tuple(DEFAULT_GRIDS), "model to tune")
    home = STATE.home.ensure()
    dataset = ensure_dataset(home)
    with stages(STATE.err, f"tune {model}") as say:
        result = run_tune(dataset, model, DEFAULT_GRIDS[model], seed=seed, on_row=lambda r: say(str(r)))
    table = Table(title=f"{model}: {len(result.rows)} candidates ({result.method} search), validation "
                  f"inside the seed-{seed} training part, mean of {result.repeats} carvings; best first",
                  title_justify="left")
    rows = result.table()[:10]
    for col in rows[0]:
        table.add_column(col.replace("precision", "P@10").replace("recall", "R@10")
                         .replace("ndcg", "NDCG@10").replace("map", "MAP@10"), justify="right")
    for row in rows:
        table.add_row(*(f"{v:.4f}" if c in METRICS else f"{v:.2f}" if c == "fit_s" else str(v)
                        for c, v in row.items()))
    STATE.console.print(table)
    STATE.console.print(f"best {model} parameters on validation: {result.best_params} "
                        f"({result.elapsed_s:.1f} s)")
    if json_out is not None:
        from recsys_tui.common.fsutil import atomic_write_json

        atomic_write_json(json_out, json.loads(json.dumps(result.to_json(), default=str)))


def _grid_value(value: object) -> str:
    """A searched value as the user would type it (``64``, ``0.7``, ``true``, ``rating``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _tune_online(model: str, grid_specs: list[str], limit: int | None, metric: str | None,
                 json_out: Path | None) -> None:
    """``tune --online``: one validation replay per grid point, best first (training.tune_online)."""
    from recsys_tui.models.registry import MODEL_NAMES
    from recsys_tui.progress import stages
    from recsys_tui.training.tune_online import (
        DEFAULT_ONLINE_GRID,
        SCORER_STRATEGIES,
        TRAIN_FRACTION,
        parse_grid,
        plan,
        tune_online,
    )

    choice(model, MODEL_NAMES, "model")
    positive(limit, "--limit")
    if metric is not None:
        choice(metric, SCORER_STRATEGIES, "metric strategy")
    grid = parse_grid(model, grid_specs) if grid_specs else parse_grid(
        model, [f"{k}={','.join(map(str, v))}" for k, v in DEFAULT_ONLINE_GRID.items()])
    plan(model, grid, metric)  # every check before the home is touched
    home = STATE.home.ensure()
    dataset = ensure_dataset(home)
    with stages(STATE.err, f"tune --online {model}") as say:
        result = tune_online(dataset, grid, model=model, metric=metric, limit=limit, on_row=lambda r: say(
            " ".join(f"{k}={_grid_value(v)}" for k, v in r.params.items())
            + " · " + " ".join(f"{s} {h:.4f}" for s, h in r.hr.items()) + f" · {r.seconds:.0f} s"))
    rows = result.table()
    table = Table(title=f"{model}, {len(rows)} points: fit on the first {result.n_fit:,} ratings "
                        f"(first {TRAIN_FRACTION:g} × {TRAIN_FRACTION:g} by time), replay the next "
                        f"{result.n_events:,} ({result.n_new_events:,} by new users); HR@10, best "
                        f"{result.metric} first", title_justify="left")
    for col in rows[0]:  # strategies' HR@10 under their names; the ratio as ×popularity
        table.add_column(col.replace(" HR@10", "").replace(f"{result.metric}/popularity", "×pop")
                         .replace("seconds", "s"), justify="right")
    for row in rows:
        table.add_row(*(_grid_value(v) if c in grid else f"{v:.0f}" if c == "seconds" else f"{v:.4f}"
                        if isinstance(v, float) else str(v) for c, v in row.items()))
    STATE.console.print(table)
    STATE.console.print(f"best on the validation stream: {result.best.params} ({result.elapsed_s:.0f} s)")
    if json_out is not None:
        from recsys_tui.common.fsutil import atomic_write_json

        atomic_write_json(json_out, result.to_json())
        STATE.console.print(f"wrote {json_out}")

"""``recsys-tui eval``: accuracy and beyond-accuracy metrics of each model beside the baselines."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from recsys_tui.context import STATE, ensure_dataset
from recsys_tui.options import JsonOpt, SeedsOpt, command_app
from recsys_tui.usage import UsageProblem, choice, output_file, seeds

app = command_app()


def metric_label(metric: str, k: int) -> str:
    """A metric's column heading at list length ``k`` (``precision`` → ``P@5``)."""
    short = {"precision": "P", "recall": "R", "ndcg": "NDCG", "map": "MAP", "coverage": "coverage"}
    return f"{short[metric]}@{k}" if metric in short else metric


def eval_table(summary: dict, title: str, k: int = 10) -> Table:
    """Mean ± std of every metric (and the fit time) per model."""
    from recsys_tui.training.evaluate import METRICS

    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for m in (*METRICS, "fit_s"):
        table.add_column(metric_label(m, k), justify="right")
    for name, cols in summary.items():
        table.add_row(name, *(f"{cols[m]['mean']:.4f} ± {cols[m]['std']:.4f}" if m != "fit_s"
                              else f"{cols[m]['mean']:.2f}" for m in (*METRICS, "fit_s")))
    return table


@app.command("eval")
def evaluate(
    protocol: Annotated[str, typer.Option(
        help="stratified or temporal (docs/METHOD.md §5).")] = "stratified",
    seed_text: SeedsOpt = "42,43,44,45,46",
    models: Annotated[str, typer.Option(help="Comma-separated models (baselines always added).")]
    = "als,ease,hybrid",
    k: Annotated[int, typer.Option("-k", help="List length.")] = 10,
    json_out: JsonOpt = None,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Log metrics to MLflow in the home.")] = False,
) -> None:
    """Precision/Recall/NDCG/MAP@k, coverage, personalization for each model and baseline."""
    from recsys_tui.mlflow_log import log_run, need_mlflow
    from recsys_tui.models.registry import MODEL_NAMES
    from recsys_tui.progress import stages
    from recsys_tui.training.evaluate import PROTOCOLS
    from recsys_tui.training.evaluate import evaluate as run_eval

    choice(protocol, PROTOCOLS, "protocol")
    if mlflow:
        need_mlflow()
    names = [m.strip() for m in models.split(",") if m.strip()]
    for name in names:
        choice(name, MODEL_NAMES, "model")
    if not 1 <= k <= 100:
        raise UsageProblem(f"-k must be 1–100, got {k}")
    seed_list = seeds(seed_text)
    output_file(json_out)
    if protocol == "temporal":
        seed_list = seed_list[:1]  # the temporal split has no randomness
    home = STATE.home.ensure()
    dataset = ensure_dataset(home)
    start = time.perf_counter()
    with stages(STATE.err, "eval") as say:
        report = run_eval(dataset, {n: {} for n in names}, protocol, seed_list, k,
                          on_row=lambda r: say(f"{r.model} seed {r.seed}: "
                                               f"P@{k} {r.metrics['precision']:.4f}"))
    elapsed = time.perf_counter() - start
    summary = report.summary()
    STATE.console.print(eval_table(summary, f"{protocol} protocol, K={k}, seeds "
                                   f"{','.join(map(str, seed_list))} (mean ± std)", k))
    STATE.console.print(f"evaluated in {elapsed:.1f} s")
    if json_out is not None:
        from recsys_tui.common.fsutil import atomic_write_json

        atomic_write_json(json_out, {**report.to_json(), "elapsed_s": elapsed})
        STATE.console.print(f"wrote {json_out}")
    if mlflow:
        flat = {f"{m}.{metric}": v["mean"] for m, cols in summary.items() for metric, v in cols.items()}
        log_run(home, f"eval-{protocol}", {"protocol": protocol, "seeds": seed_text, "k": k}, flat, None)

"""``recsys-tui train | eval | tune``: the batch pipeline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from recsys_tui.common.errors import RecsysError
from recsys_tui.context import STATE
from recsys_tui.core.index import INDEX_KINDS
from recsys_tui.data.fetch import fetch
from recsys_tui.models.registry import MODEL_NAMES, model_class
from recsys_tui.params import parse_params
from recsys_tui.progress import download_bar, stages
from recsys_tui.training.evaluate import METRICS, PROTOCOLS, evaluate
from recsys_tui.training.pipeline import train


class UsageProblem(RecsysError):
    """A flag value the command cannot use."""

    exit_code = 2


def _choice(value: str, options, what: str) -> str:
    if value not in options:
        raise UsageProblem(f"unknown {what} {value!r}; choose one of {', '.join(options)}")
    return value


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageProblem(f"--seeds expects comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageProblem(f"--seeds expects non-negative integers, got {text!r}")
    return seeds


def _ensure_data(home):
    with download_bar(STATE.err, home.dataset) as progress:
        dataset, _ = fetch(home.data, "auto", progress, name=home.dataset)
    return dataset


def _need_mlflow() -> None:
    """Fail before any work when ``--mlflow`` is asked for but mlflow is not installed."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise UsageProblem("--mlflow needs the mlflow extra: pip install -e '.[mlflow]' "
                           "(mlflow-skinny is enough)")


def _log_mlflow(home, run_name: str, params: dict, metrics: dict, artifact_dir: Path | None) -> str:
    """Log one run to the file store ``<home>/mlruns``; any MLflow failure is one clear error."""
    _need_mlflow()
    import os

    import mlflow

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow ≥ 3.x: file store is opt-in
    try:
        mlflow.set_tracking_uri((home.root / "mlruns").as_uri())
        mlflow.set_experiment("recsys-tui")
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.log_params({k: str(v) for k, v in params.items()})
            mlflow.log_metrics({k.replace("@", "_at_"): float(v) for k, v in metrics.items()})
            if artifact_dir is not None:
                mlflow.log_artifacts(str(artifact_dir), artifact_path="model")
            return run.info.run_id
    except Exception as exc:  # mlflow raises many types; report one line, keep the published model
        raise UsageProblem(f"mlflow logging failed: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None


def metric_label(metric: str, k: int) -> str:
    """A metric's column heading at list length ``k`` (``precision`` → ``P@5``)."""
    short = {"precision": "P", "recall": "R", "ndcg": "NDCG", "map": "MAP", "coverage": "coverage"}
    return f"{short[metric]}@{k}" if metric in short else metric


def eval_table(summary: dict, title: str, k: int = 10) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("model")
    for m in (*METRICS, "fit_s"):
        table.add_column(metric_label(m, k), justify="right")
    for name, cols in summary.items():
        table.add_row(name, *(f"{cols[m]['mean']:.4f} ± {cols[m]['std']:.4f}" if m != "fit_s"
                              else f"{cols[m]['mean']:.2f}" for m in (*METRICS, "fit_s")))
    return table


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        model: Annotated[str, typer.Option(help=f"One of {', '.join(MODEL_NAMES)}.")] = "als",
        ratings: Annotated[Path | None, typer.Option(
            help="Train on this CSV/TSV (user_id,item_id,rating,timestamp) or u.data file "
                 "instead of ML-100K.")] = None,
        factors: Annotated[int | None, typer.Option(help="Embedding size (als, hybrid).")] = None,
        param: Annotated[list[str] | None, typer.Option(
            "--param", "-p", help="Hyper-parameter key=value (repeatable; names, bounds and meaning: "
                                  "docs/PARAMETERS.md).")] = None,
        index: Annotated[str, typer.Option(help="Vector index: flat, hnsw or ivf.")] = "flat",
        no_log: Annotated[bool, typer.Option("--no-log", help="Ignore ratings in the event log.")] = False,
        mlflow: Annotated[bool, typer.Option("--mlflow", help="Log the run to MLflow in the home.")] = False,
        engine: Annotated[str, typer.Option(
            help="implicit (one machine) or spark (Spark MLlib ALS; needs the [spark] extra and Java).")]
        = "implicit",
        spark_master: Annotated[str | None, typer.Option(
            help="Spark master URL for --engine spark (default local[*]; e.g. spark://host:7077).")] = None,
    ) -> None:
        """Train a model on the data set plus logged ratings; build the index; publish a version."""
        _choice(model, MODEL_NAMES, "model")
        _choice(engine, ("implicit", "spark"), "engine")
        if engine == "spark":
            from recsys_tui.training.spark_als import check_spark

            if model != "als":
                raise UsageProblem(f"--engine spark trains ALS only, not {model!r}")
            check_spark()
        elif spark_master is not None:
            raise UsageProblem("--spark-master applies to --engine spark only")
        _choice(index, INDEX_KINDS, "index type")
        if mlflow:
            _need_mlflow()
        shortcuts = {"factors": factors} if factors is not None else {}
        if factors is not None and "factors" not in model_class(model).defaults:
            raise UsageProblem(f"--factors does not apply to model {model!r}")
        if factors is not None and not 1 <= factors <= 1024:
            raise UsageProblem(f"--factors must be 1–1024, got {factors}")
        params = parse_params(model, param or [], **shortcuts)
        if ratings is not None and not ratings.exists():
            raise UsageProblem(f"--ratings {ratings}: no such file")
        home = STATE.home.ensure()
        _ensure_data(home)
        with stages(STATE.err, f"train {model}") as say:
            result = train(home, model, params, ratings_file=ratings, index=index,
                           use_log=not no_log, step=say, engine=engine, spark_master=spark_master,
                           log_url=STATE.effective_log_url())
        t = result.timings
        STATE.console.print(
            f"published {result.version}: {model} ({engine}) on {home.dataset}, {result.n_ratings:,} ratings "
            f"({result.n_logged} from the event log) · fit {t['fit_s']:.2f} s · "
            f"total {t['total_s']:.2f} s")
        if mlflow:
            run = _log_mlflow(home, result.version, result.params, t, home.artifacts / result.version)
            STATE.console.print(f"mlflow run {run} in {home.root / 'mlruns'}")

    @app.command("eval")
    def eval_cmd(
        protocol: Annotated[str, typer.Option(
            help="stratified or temporal (docs/METHOD.md §5).")] = "stratified",
        seeds: Annotated[str, typer.Option(help="Comma-separated split seeds.")] = "42,43,44,45,46",
        models: Annotated[str, typer.Option(help="Comma-separated models (baselines always added).")]
        = "als,ease,hybrid",
        k: Annotated[int, typer.Option("-k", help="List length.")] = 10,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write the report as JSON.")] = None,
        mlflow: Annotated[bool, typer.Option("--mlflow", help="Log metrics to MLflow in the home.")] = False,
    ) -> None:
        """Precision/Recall/NDCG/MAP@k, coverage, personalization for each model and baseline."""
        _choice(protocol, PROTOCOLS, "protocol")
        if mlflow:
            _need_mlflow()
        names = [m.strip() for m in models.split(",") if m.strip()]
        for name in names:
            _choice(name, MODEL_NAMES, "model")
        if not 1 <= k <= 100:
            raise UsageProblem(f"-k must be 1–100, got {k}")
        seed_list = _seeds(seeds)
        if protocol == "temporal":
            seed_list = seed_list[:1]  # the temporal split has no randomness
        home = STATE.home.ensure()
        dataset = _ensure_data(home)
        start = time.perf_counter()
        with stages(STATE.err, "eval") as say:
            report = evaluate(dataset, {n: {} for n in names}, protocol, seed_list, k,
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
            _log_mlflow(home, f"eval-{protocol}", {"protocol": protocol, "seeds": seeds, "k": k},
                        flat, None)

    @app.command("tune")
    def tune_cmd(
        model: Annotated[str, typer.Option(help="Model whose grid to search.")] = "als",
        seed: Annotated[int, typer.Option(help="Split seed.")] = 42,
        json_out: Annotated[Path | None, typer.Option("--json", help="Write all rows as JSON.")] = None,
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
        from recsys_tui.training.tune import DEFAULT_GRIDS, tune

        if online:
            _tune_online(model, grid or [], limit, metric, json_out)
            return
        if grid or limit is not None or metric is not None:
            raise UsageProblem("--grid, --limit and --metric apply to tune --online only")
        _choice(model, tuple(DEFAULT_GRIDS), "model to tune")
        home = STATE.home.ensure()
        dataset = _ensure_data(home)
        with stages(STATE.err, f"tune {model}") as say:
            result = tune(dataset, model, DEFAULT_GRIDS[model], seed=seed,
                          on_row=lambda r: say(str(r)))
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
    from recsys_tui.training.tune_online import (
        DEFAULT_ONLINE_GRID,
        SCORER_STRATEGIES,
        TRAIN_FRACTION,
        parse_grid,
        plan,
        tune_online,
    )

    _choice(model, MODEL_NAMES, "model")
    if limit is not None and limit < 1:
        raise UsageProblem(f"--limit must be ≥ 1, got {limit}")
    if metric is not None:
        _choice(metric, SCORER_STRATEGIES, "metric strategy")
    if json_out is not None and json_out.is_dir():
        raise UsageProblem(f"--json {json_out} is a folder; give a file name")
    grid = parse_grid(model, grid_specs) if grid_specs else parse_grid(
        model, [f"{k}={','.join(map(str, v))}" for k, v in DEFAULT_ONLINE_GRID.items()])
    plan(model, grid, metric)  # every check before the home is touched
    home = STATE.home.ensure()
    dataset = _ensure_data(home)
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

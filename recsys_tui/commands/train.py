"""``recsys-tui train``: fit a model on the data set plus the logged ratings, index it, publish it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recsys_tui.context import STATE, ensure_dataset
from recsys_tui.options import ParamOpt, command_app
from recsys_tui.usage import UsageProblem, choice

app = command_app()

MODEL_HELP = "One of als, ease, hybrid, popularity, random."
"""``--model``'s help (tests/test_startup.py checks it names every registered model; the registry
itself imports the models, too heavy for ``train --help``)."""
INDEX_HELP = "Vector index: flat, hnsw or ivf."
"""``--index``'s help (checked against ``core.index.INDEX_KINDS`` the same way)."""


@app.command("train")
def train(
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "als",
    ratings: Annotated[Path | None, typer.Option(
        help="Train on this CSV/TSV (user_id,item_id,rating,timestamp) or u.data file "
             "instead of ML-100K.")] = None,
    factors: Annotated[int | None, typer.Option(help="Embedding size (als, hybrid).")] = None,
    param: ParamOpt = None,
    index: Annotated[str, typer.Option(help=INDEX_HELP)] = "flat",
    no_log: Annotated[bool, typer.Option("--no-log", help="Ignore ratings in the event log.")] = False,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="Log the run to MLflow in the home.")] = False,
    engine: Annotated[str, typer.Option(
        help="implicit (one machine) or spark (Spark MLlib ALS; needs the [spark] extra and Java).")]
    = "implicit",
    spark_master: Annotated[str | None, typer.Option(
        help="Spark master URL for --engine spark (default local[*]; e.g. spark://host:7077).")] = None,
) -> None:
    """Train a model on the data set plus logged ratings; build the index; publish a version."""
    from recsys_tui.core.index import INDEX_KINDS
    from recsys_tui.mlflow_log import log_run, need_mlflow
    from recsys_tui.models.registry import MODEL_NAMES, model_class
    from recsys_tui.params import parse_params
    from recsys_tui.progress import stages
    from recsys_tui.training.pipeline import train as train_model

    choice(model, MODEL_NAMES, "model")
    choice(engine, ("implicit", "spark"), "engine")
    if engine == "spark":
        from recsys_tui.training.spark_als import check_spark

        if model != "als":
            raise UsageProblem(f"--engine spark trains ALS only, not {model!r}")
        check_spark()
    elif spark_master is not None:
        raise UsageProblem("--spark-master applies to --engine spark only")
    choice(index, INDEX_KINDS, "index type")
    if mlflow:
        need_mlflow()
    shortcuts = {"factors": factors} if factors is not None else {}
    if factors is not None and "factors" not in model_class(model).defaults:
        raise UsageProblem(f"--factors does not apply to model {model!r}")
    if factors is not None and not 1 <= factors <= 1024:
        raise UsageProblem(f"--factors must be 1–1024, got {factors}")
    params = parse_params(model, param or [], **shortcuts)
    if ratings is not None and not ratings.exists():
        raise UsageProblem(f"--ratings {ratings}: no such file")
    home = STATE.home.ensure()
    ensure_dataset(home)
    with stages(STATE.err, f"train {model}") as say:
        result = train_model(home, model, params, ratings_file=ratings, index=index,
                             use_log=not no_log, step=say, engine=engine, spark_master=spark_master,
                             log_url=STATE.effective_log_url())
    t = result.timings
    STATE.console.print(
        f"published {result.version}: {model} ({engine}) on {home.dataset}, {result.n_ratings:,} ratings "
        f"({result.n_logged} from the event log) · fit {t['fit_s']:.2f} s · "
        f"total {t['total_s']:.2f} s")
    if mlflow:
        run = log_run(home, result.version, result.params, t, home.artifacts / result.version)
        STATE.console.print(f"mlflow run {run} in {home.root / 'mlruns'}")

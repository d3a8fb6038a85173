"""Optional MLflow tracking for ``train --mlflow`` and ``eval --mlflow`` (the ``[mlflow]`` extra)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from recsys_tui.core.home import Home
from recsys_tui.usage import UsageProblem


def need_mlflow() -> None:
    """Fail before any work when ``--mlflow`` is asked for but mlflow is not installed."""
    if importlib.util.find_spec("mlflow") is None:
        raise UsageProblem("--mlflow needs the mlflow extra: pip install -e '.[mlflow]' "
                           "(mlflow-skinny is enough)")


def log_run(home: Home, run_name: str, params: dict, metrics: dict, artifact_dir: Path | None) -> str:
    """Log one run to the file store ``<home>/mlruns``; any MLflow failure is one clear error."""
    need_mlflow()
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

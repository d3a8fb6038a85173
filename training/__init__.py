"""Training pipeline: fit, evaluate against baselines, tune, replay, report, publish."""

"""The index-growth bench: ALS-shaped synthetic items, real user vectors as queries (tuning and
evaluation disjoint), only the kinds asked for, and bad options refused."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.core.index import tuning_rows
from recsys_tui.training.bench import BenchError, BenchOptions
from recsys_tui.training.bench_synthetic import queries, run_synthetic, synthetic_items


def _factors(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 64)).astype(np.float32)
    return z * rng.lognormal(-0.5, 0.8, (n, 1)).astype(np.float32)


def test_items_keep_the_models_norm_distribution():
    like = _factors(0, 3000)
    items, how = synthetic_items(20_000, 1, like)
    assert items.shape == (20_000, 64) and items.dtype == np.float32 and "norm" in how
    got, want = np.linalg.norm(items, axis=1), np.linalg.norm(like, axis=1)
    ranked = np.sort(want)
    at = np.clip(np.searchsorted(ranked, got), 1, len(ranked) - 1)
    nearest = np.minimum(np.abs(ranked[at] - got), np.abs(ranked[at - 1] - got))
    assert np.all(nearest <= 1e-5 * got), "every length is one of the model's"
    assert np.percentile(got, 99) / np.percentile(got, 50) == pytest.approx(
        np.percentile(want, 99) / np.percentile(want, 50), rel=0.15)
    plain, plain_how = synthetic_items(1000, 1, None)
    assert plain_how == "isotropic gaussian" and plain.shape == (1000, 64)


def test_queries_are_held_out_user_vectors():
    users = _factors(2, 900)
    users[::7] = 0.0  # users without a vector are never queries
    tune, evaluation, how = queries(300, 3, users)
    assert "user vectors" in how and len(evaluation) == 300
    assert len(tune) == len(tuning_rows(users, seed=3))
    tuned = {v.tobytes() for v in tune}
    assert not any(v.tobytes() in tuned for v in evaluation), "tuning and evaluation are disjoint"
    assert all(v.any() for v in evaluation)
    rows = {u.tobytes() for u in users}
    assert all(v.tobytes() in rows for v in evaluation)


def test_only_the_kinds_asked_for_are_built():
    say: list[str] = []
    out = run_synthetic(3000, 40, 0, say.append, _factors(4, 500), _factors(5, 400), kinds=("hnsw",),
                        hnsw_m=16, hnsw_ef_construction=40)
    assert set(out["indexes"]) == {"flat", "hnsw"}
    hnsw = out["indexes"]["hnsw"]
    assert hnsw["params"]["M"] == 16 and hnsw["params"]["efConstruction"] == 40
    assert hnsw["params"]["efSearch"] > 0 and hnsw["tuning_queries"] == 200
    assert out["indexes"]["flat"]["recall_at_10"] == 1.0 and 0.0 <= hnsw["recall_at_10"] <= 1.0
    assert hnsw["build_threads"] >= 1 and any("threads" in line for line in say)
    assert hnsw["build_cpu_s"] > 0 and hnsw["build_s"] > 0


@pytest.mark.parametrize(("options", "words"), [
    ({"synthetic_kinds": ("hnsw", "annoy")}, "--synthetic-kinds"),
    ({"synthetic_kinds": ()}, "--synthetic-kinds"),
    ({"hnsw_m": 2}, "--hnsw-m"),
    ({"hnsw_ef_construction": 5000}, "--hnsw-ef-construction"),
])
def test_bad_synthetic_bench_options(options, words):
    with pytest.raises(BenchError, match=words):
        BenchOptions(**options).check()

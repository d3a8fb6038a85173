"""``models.als_fit.sweeps`` is implicit's ALS, bit for bit: the same kernel, initial vectors and
transposed matrix, without the wrapper's copy of the confidences on every sweep."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from recsys_tui.models import als_fit
from recsys_tui.models.als import ALSRecommender
from threadpoolctl import threadpool_limits


def _confidences(seed: int, users: int = 120, items: int = 80) -> sp.csr_matrix:
    """Signed float32 confidences: rows of 0–40 entries, some negative (dislikes), an empty row
    and an empty column."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(users):
        n = 0 if u == 7 else int(rng.integers(1, 40))
        rows += [u] * n
        cols += rng.choice(items - 1, n, replace=False).tolist()  # the last item: never rated
    data = rng.uniform(0.2, 6.0, len(rows))
    data[rng.random(len(rows)) < 0.1] *= -1
    mat = sp.csr_matrix((data.astype(np.float32), (rows, cols)), shape=(users, items))
    mat.sort_indices()
    return mat


def _implicit(cui: sp.csr_matrix, factors: int, reg: float, iterations: int, seed: int,
              use_cg: bool = True) -> tuple[np.ndarray, np.ndarray]:
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=reg, alpha=1.0,
                                        iterations=iterations, use_cg=use_cg, random_state=seed,
                                        num_threads=0)
        model.fit(cui, show_progress=False)
    return model.user_factors, model.item_factors


@pytest.mark.parametrize(("factors", "reg", "iterations", "seed"),
                         [(16, 2.0, 7, 0), (64, 67.5, 3, 5), (8, 0.5, 1, 11)])
def test_sweeps_are_implicits_fit_bit_for_bit(factors, reg, iterations, seed):
    cui = _confidences(seed)
    info = als_fit.SweepInfo()
    x, y = als_fit.sweeps(cui, factors, reg, iterations, seed, info=info)
    ref_x, ref_y = _implicit(cui, factors, reg, iterations, seed)
    assert x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert not x[7].any(), "an empty row stays zero"
    assert info.native and len(info.users) == len(info.items) == iterations
    totals = info.totals()
    assert {"transpose_s", "init_s", "user_sweeps_s", "item_sweeps_cpu_s"} <= set(totals)


def test_sweeps_fall_back_to_implicits_fit(monkeypatch):
    cui = _confidences(3)
    monkeypatch.setattr(als_fit, "_kernel", lambda: None)
    info = als_fit.SweepInfo()
    x, y = als_fit.sweeps(cui, 16, 2.0, 4, 9, info=info)
    ref_x, ref_y = _implicit(cui, 16, 2.0, 4, 9)
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)
    assert not info.native and "implicit" in info.parts and not info.users


def test_sweeps_with_the_cholesky_solver_are_implicits():
    cui = _confidences(4)
    _, y = als_fit.sweeps(cui, 16, 2.0, 3, 1, use_cg=False)
    np.testing.assert_array_equal(y, _implicit(cui, 16, 2.0, 3, 1, use_cg=False)[1])


def test_sweeps_refuse_what_the_kernel_would_copy():
    cui = _confidences(5)
    with pytest.raises(TypeError, match="float32 CSR"):
        als_fit.sweeps(cui.astype(np.float64), 8, 1.0, 1, 0)


def test_als_fit_uses_implicits_factors_and_reports_its_parts():
    stars = _confidences(6)
    stars.data = np.clip(np.abs(stars.data).round(), 1, 5).astype(np.float32)
    model = ALSRecommender(factors=16, iterations=5, regularization=3.0).fit(stars)
    conf = sp.csr_matrix((model.weighting.confidences(stars).astype(np.float32), stars.indices,
                          stars.indptr), shape=stars.shape)
    np.testing.assert_array_equal(model.item_factors, _implicit(conf, 16, 3.0, 5, 0)[1])
    assert len(model.fit_info.users) == 5 and "resolve" in model.fit_info.parts


def test_a_callback_sees_every_iteration_and_can_stop_the_sweeps():
    cui = _confidences(8)
    seen: list[int] = []

    def stop_after_three(iteration: int, x: np.ndarray, y: np.ndarray) -> bool:
        seen.append(iteration)
        return iteration == 3

    info = als_fit.SweepInfo()
    x, y = als_fit.sweeps(cui, 16, 2.0, 10, 2, info=info, callback=stop_after_three)
    assert seen == [1, 2, 3] and len(info.users) == 3 and "callback" in info.parts
    ref_x, ref_y = _implicit(cui, 16, 2.0, 3, 2)  # stopped after 3 = a fit of 3 iterations
    np.testing.assert_array_equal(x, ref_x)
    np.testing.assert_array_equal(y, ref_y)


def test_the_fit_reports_its_parts_for_the_manifest():
    from recsys_tui.models.registry import create

    stars = _confidences(9)
    stars.data = np.clip(np.abs(stars.data).round(), 1, 5).astype(np.float32)
    for name in ("als", "hybrid"):
        parts = create(name, factors=8, iterations=2).fit(stars).fit_timings()
        for key in ("als_transpose_s", "als_init_s", "als_user_sweeps_s", "als_item_sweeps_cpu_s",
                    "als_resolve_s", "als_resolve_cpu_s"):
            assert parts[key] >= 0.0, (name, key)
    assert create("ease").fit(stars).fit_timings() == {}
    assert ALSRecommender().fit_timings() == {}, "nothing before a fit"

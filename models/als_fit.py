"""implicit's ALS sweeps, driven here: the same native kernels, without the copies around them.

``AlternatingLeastSquares.fit`` (implicit 0.7) alternates two calls of its Cython conjugate-gradient
kernel per iteration, ``least_squares_cg(Cui, X, Y, …)``, and that wrapper passes
``Cui.data.astype('float32')`` — a fresh copy of every confidence on each call, even when they are
float32 already: 60 copies of 100 MB at MovieLens-25M size (30 iterations × users and items), made
on one core while the other waits. ``sweeps`` calls the kernel itself (``_least_squares_cg``) with
the arrays as they are, in the same order, from the same initial vectors (implicit's
``check_random_state`` and draws) and on the same transposed matrix (``Cui.T.tocsr()``), so the
factors are bit-for-bit implicit's (``tests/test_als_fit.py`` compares them with
``AlternatingLeastSquares.fit``). Where the kernel is not there (another implicit), implicit's own
``fit`` runs instead.

It also reports where the time went (``SweepInfo``: the transpose, the initial vectors, each
iteration's user and item sweep, wall and process CPU seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

CG_STEPS = 3
"""Conjugate-gradient steps per row and sweep (implicit's default, ``cg_steps``)."""


@dataclass
class SweepInfo:
    """Wall and CPU seconds of the parts of one fit (CPU: the whole process, every thread)."""

    native: bool = True
    """The kernel was called directly (False: implicit's ``fit`` ran, no per-sweep times)."""
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)
    """transpose, init, and (fallback only) implicit: (wall s, CPU s)."""
    users: list[tuple[float, float]] = field(default_factory=list)
    """Per iteration: the user sweep (wall s, CPU s)."""
    items: list[tuple[float, float]] = field(default_factory=list)
    """Per iteration: the item sweep (wall s, CPU s)."""

    def totals(self) -> dict[str, float]:
        """Summed seconds: ``<part>_s`` / ``<part>_cpu_s`` for each part, the user and item sweeps."""
        out: dict[str, float] = {}
        rows = dict(self.parts)
        if self.users:
            rows["user_sweeps"] = tuple(map(sum, zip(*self.users, strict=True)))  # type: ignore[assignment]
            rows["item_sweeps"] = tuple(map(sum, zip(*self.items, strict=True)))  # type: ignore[assignment]
        for name, (wall, cpu) in rows.items():
            out[f"{name}_s"], out[f"{name}_cpu_s"] = wall, cpu
        return out


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def _kernel() -> Callable | None:
    try:
        from implicit.cpu import _als
    except ImportError:  # pragma: no cover - implicit is a dependency
        return None
    return getattr(_als, "_least_squares_cg", None)


def sweeps(cui: sp.csr_matrix, factors: int, regularization: float, iterations: int,
           random_state: int, num_threads: int = 0, use_cg: bool = True,
           info: SweepInfo | None = None,
           callback: Callable[[int, np.ndarray, np.ndarray], bool | None] | None = None,
           ) -> tuple[np.ndarray, np.ndarray]:
    """implicit's CG ALS on ``cui`` (users × items CSR of float32 signed confidences, alpha 1):
    (user factors, item factors), float32, as ``AlternatingLeastSquares(factors, regularization,
    alpha=1.0, iterations, use_cg, random_state, num_threads).fit(cui)`` gives them.
    ``num_threads`` 0 = every core (OpenMP's default); BLAS is held to one thread meanwhile.
    ``use_cg`` False (implicit's Cholesky solver) runs implicit's own ``fit``.

    ``callback(iteration, user factors, item factors)`` is called after each iteration's item sweep
    (iteration counts from 1; the arrays are the live ones: copy what you keep); a true return
    stops the sweeps there. Not called on implicit's own ``fit``."""
    info = info if info is not None else SweepInfo()
    if not isinstance(cui, sp.csr_matrix) or cui.dtype != np.float32:
        raise TypeError("sweeps: a float32 CSR matrix is needed")
    kernel = _kernel()
    with threadpool_limits(limits=1, user_api="blas"):
        if kernel is None or not use_cg:
            return _implicit_fit(cui, factors, regularization, iterations, random_state,
                                 num_threads, use_cg, info)
        from implicit.utils import check_random_state

        clock = _Clock()
        ciu = cui.T.tocsr()  # what implicit's fit iterates for the item step
        info.parts["transpose"] = clock.lap()
        rng = check_random_state(random_state)
        n_users, n_items = cui.shape
        x = rng.random((n_users, factors), dtype=np.float32) * 0.01
        y = rng.random((n_items, factors), dtype=np.float32) * 0.01
        info.parts["init"] = clock.lap()
        for iteration in range(1, iterations + 1):
            kernel(cui.indptr, cui.indices, cui.data, x, y, regularization, num_threads, CG_STEPS)
            info.users.append(clock.lap())
            kernel(ciu.indptr, ciu.indices, ciu.data, y, x, regularization, num_threads, CG_STEPS)
            info.items.append(clock.lap())
            if callback is not None:
                stop = callback(iteration, x, y)
                info.parts["callback"] = tuple(a + b for a, b in zip(info.parts.get("callback", (0.0, 0.0)),
                                                                    clock.lap(), strict=True))
                if stop:
                    break
    if np.isnan(x).any() or np.isnan(y).any():
        raise ArithmeticError("NaN encountered in factors")
    return x, y


def _implicit_fit(cui: sp.csr_matrix, factors: int, regularization: float, iterations: int,
                  random_state: int, num_threads: int, use_cg: bool,
                  info: SweepInfo) -> tuple[np.ndarray, np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares

    info.native = False
    clock = _Clock()
    model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=1.0,
                                    iterations=iterations, use_cg=use_cg, random_state=random_state,
                                    num_threads=num_threads)
    model.fit(cui, show_progress=False)
    info.parts["implicit"] = clock.lap()
    return model.user_factors, model.item_factors

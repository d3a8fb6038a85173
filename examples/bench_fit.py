"""Where the ALS fit's time goes, and the batched user re-solve against the per-user loop it replaced.

    python examples/bench_fit.py --home H --dataset synth-ml-25m                  # breakdown
    python examples/bench_fit.py --home H --dataset synth-ml-25m --ab --rounds 3   # fold-in A/B

The breakdown times, in one process, each part of ``recsys-tui train``'s fit on the home's data
set: the verified cache load, the id maps and the rating matrix (``build_matrix``), the
confidence weights, implicit's ALS (the product's parameters: 64 factors, 30 iterations, CG) and
the exact re-solve of every user (``ALSRecommender.fold_in_rows``), with wall and CPU seconds
(CPU over wall ≈ cores kept busy). ``--iterations N`` shortens implicit's part for a quick look
(it scales linearly; the product always runs 30).

``--ab`` runs the re-solve alternately (``--rounds`` times, same process, same item vectors from
a seeded normal draw; the cost does not depend on their values) as ``batched`` (the product: the
stacked systems solved by LAPACK ``gesv``), ``cholesky`` (the same buckets solved by the stacked
Cholesky and substitution, what it did before and still does for λ = 0) and
as ``loop`` (the per-user scipy ``dsyrk`` + ``dposv`` loop it replaced, kept here as the
reference, with the BLAS pools as the process has them) and ``loop-1`` (the same with one BLAS
thread), and prints wall/CPU percentiles and the largest difference of the results. Nothing is
written. The machine's load average is printed: on a shared machine compare within one run.

``--ab-implicit`` alternates implicit's own ``AlternatingLeastSquares.fit`` (whose wrapper copies
the confidences on every sweep) with ``models.als_fit.sweeps`` (its kernel called directly) and
checks that the factors are bit-identical; use ``--iterations`` to keep it short.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from recsys_tui.core.home import Home
from recsys_tui.data.fetch import load as load_dataset
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.als_fit import SweepInfo, sweeps
from recsys_tui.models.als_rows import solve_rows
from recsys_tui.models.bundle import build_matrix
from threadpoolctl import threadpool_limits


def per_user_loop(model: ALSRecommender, ratings: sp.csr_matrix, conf: np.ndarray) -> np.ndarray:
    """The re-solve as it was: one scipy ``dsyrk`` (two with negative weights) and ``dposv`` per user."""
    from scipy.linalg.blas import dsyrk
    from scipy.linalg.lapack import dposv

    out = np.zeros((ratings.shape[0], model.item_factors.shape[1]), np.float32)
    y = model.item_factors.astype(np.float64)
    positive = sp.csr_matrix((np.where(conf > 0, conf, 0.0), ratings.indices, ratings.indptr),
                             shape=ratings.shape)
    rhs = np.asarray(positive @ y)
    weight = np.abs(conf) - 1.0
    root = np.sqrt(np.abs(weight))
    upper = np.triu(model.gram)
    indptr, indices = ratings.indptr, ratings.indices
    for u in np.flatnonzero(np.diff(indptr)).tolist():
        lo, hi = indptr[u], indptr[u + 1]
        z = y[indices[lo:hi]] * root[lo:hi, None]
        below = weight[lo:hi] < 0
        if below.any():
            a = dsyrk(1.0, z[~below], trans=1, beta=1.0, c=upper)
            a = dsyrk(-1.0, z[below], trans=1, beta=1.0, c=a, overwrite_c=1)
        else:
            a = dsyrk(1.0, z, trans=1, beta=1.0, c=upper)
        _, x, info = dposv(a, rhs[u], lower=0, overwrite_a=1)
        if info != 0:
            raise SystemExit(f"row {u} is not positive definite")
        out[u] = x
    return out


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process so far (Linux /proc; {} elsewhere)."""
    out: dict[str, float] = {}
    try:
        tick = os.sysconf("SC_CLK_TCK")
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return {}
    return out


def timed(name: str, fn, rows: list) -> object:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows.append((name, wall, cpu))
    print(f"{name:16s} wall {wall:8.2f} s   cpu {cpu:8.2f} s   load {os.getloadavg()[0]:.1f}", flush=True)
    return out


def alternate(variants: dict, rounds: int, rows: list) -> dict:
    """Run each variant in turn, ``rounds`` times; print wall/CPU percentiles; the last results."""
    runs: dict[str, list[tuple[float, float]]] = {}
    results: dict = {}
    for r in range(rounds):
        for name, fn in variants.items():
            results[name] = timed(f"{name} #{r}", fn, rows)
            runs.setdefault(name, []).append(rows[-1][1:])
    for name, got in runs.items():
        wall, cpu = np.array(got).T
        print(f"{name:12s} wall p50 {np.percentile(wall, 50):7.2f} min {wall.min():7.2f} max "
              f"{wall.max():7.2f} s | cpu p50 {np.percentile(cpu, 50):7.2f} s")
    return results


def ab_implicit(cui: sp.csr_matrix, c, iterations: int, rounds: int, rows: list) -> int:
    """implicit's own fit (its wrapper copies the confidences on every sweep) against ``sweeps``
    (the same kernel called directly), alternated in this process; the factors must be identical."""
    from implicit.cpu.als import AlternatingLeastSquares

    def implicit_fit() -> tuple[np.ndarray, np.ndarray]:
        with threadpool_limits(limits=1, user_api="blas"):
            als = AlternatingLeastSquares(factors=c.factors, regularization=c.regularization, alpha=1.0,
                                          iterations=iterations, use_cg=True,
                                          random_state=c.random_state, num_threads=0)
            als.fit(cui, show_progress=False)
        return als.user_factors, als.item_factors

    def ours() -> tuple[np.ndarray, np.ndarray]:
        return sweeps(cui, c.factors, c.regularization, iterations, c.random_state)

    results = alternate({"implicit.fit": implicit_fit, "sweeps": ours}, rounds, rows)
    same = all(np.array_equal(a, b) for a, b in zip(results["implicit.fit"], results["sweeps"], strict=True))
    print(f"factors bit-identical: {same}")
    return 0 if same else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--dataset", default="synth-ml-25m")
    ap.add_argument("--iterations", type=int, default=None,
                    help="implicit's iterations (default: the product's)")
    ap.add_argument("--ab", action="store_true", help="fold-in A/B instead of the breakdown")
    ap.add_argument("--ab-implicit", action="store_true",
                    help="implicit's AlternatingLeastSquares.fit against models.als_fit.sweeps, alternated")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    home = Home(args.home.expanduser().absolute(), args.dataset)
    print(f"load average {os.getloadavg()}, cores {os.cpu_count()}", flush=True)
    rows: list = []
    dataset = timed("load", lambda: load_dataset(home.data, home.dataset), rows)
    inter = timed("ratings", lambda: dataset.interactions, rows)
    users, items = timed("id maps", lambda: (IdMap.from_ids(inter.user_ids),
                                             IdMap.from_ids(np.array(sorted(dataset.movies)))), rows)
    train = timed("build_matrix", lambda: build_matrix(inter, users, items), rows)
    print(f"{train.shape[0]:,} users × {train.shape[1]:,} items, {train.nnz:,} ratings")
    model = ALSRecommender()
    timed("weighting.fit", lambda: model.weighting.fit(train), rows)
    conf = timed("confidences", lambda: model.weighting.confidences(train), rows)
    if args.ab:
        model.item_factors = np.random.default_rng(0).normal(0, 0.3, (train.shape[1], 64)).astype(np.float32)

        def loop_1() -> np.ndarray:
            with threadpool_limits(limits=1, user_api="blas"):
                return per_user_loop(model, train, conf)

        y64 = model.item_factors.astype(np.float64)
        results = alternate({"batched": lambda: model.fold_in_rows(train, None, conf),
                             "cholesky": lambda: solve_rows(train, conf, y64, model.gram),
                             "loop": lambda: per_user_loop(model, train, conf), "loop-1": loop_1},
                            args.rounds, rows)
        for other in ("cholesky", "loop"):
            diff = np.abs(results["batched"] - results[other])
            print(f"batched vs {other}: max |diff| {diff.max():.3g}, entries that differ "
                  f"{(diff > 0).mean():.2e}")
        return 0
    c = model.config
    iterations = args.iterations or c.iterations
    cui = timed("float32 CSR", lambda: sp.csr_matrix((conf.astype(np.float32), train.indices, train.indptr),
                                                       shape=train.shape), rows)
    if args.ab_implicit:
        return ab_implicit(cui, c, iterations, args.rounds, rows)
    info = SweepInfo()
    before = thread_cpu()
    _, y = timed(f"sweeps ×{iterations}", lambda: sweeps(cui, c.factors, c.regularization, iterations,
                                                         c.random_state, info=info), rows)
    busy = {t: cpu - before.get(t, 0.0) for t, cpu in thread_cpu().items()}
    busy = sorted((round(v, 1) for v in busy.values() if v >= 0.5), reverse=True)
    print(f"  threads that worked ≥ 0.5 CPU s during the sweeps: {busy}")
    for name, (wall, cpu) in info.parts.items():
        print(f"  {name:14s} wall {wall:8.2f} s   cpu {cpu:8.2f} s")
    for kind, got in (("user sweep", info.users), ("item sweep", info.items)):
        wall, cpu = np.array(got).T
        print(f"  {kind:14s} wall p50 {np.median(wall):6.2f} min {wall.min():6.2f} max {wall.max():6.2f} "
              f"sum {wall.sum():7.2f} s | cpu p50 {np.median(cpu):6.2f} sum {cpu.sum():7.2f} s")
    model.item_factors = np.ascontiguousarray(y, dtype=np.float32)
    model._forget()
    timed("fold_in_rows", lambda: model.fold_in_rows(train, None, conf), rows)
    timed("popularity", lambda: np.bincount(train.indices, minlength=train.shape[1]), rows)
    wall, cpu = np.array([r[1:] for r in rows if r[0] not in ("load", "ratings")]).sum(axis=0)
    print(f"{'fit (all above but load)':24s} wall {wall:8.2f} s   cpu {cpu:8.2f} s   load {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How the ALS fit converges, iteration by iteration, and what stopping early would cost in quality.

    python examples/als_convergence.py --home H --dataset ml-100k --seeds 42,43,44,45,46
    python examples/als_convergence.py --home H --dataset synth-ml-25m --holdout --at 20,25,28,30

For each seed (the model's ``random_state``; with ``--holdout`` on the stratified split of that
seed, 75 % train / 25 % test, as ``recsys-tui eval``) this runs the product's fit (64 factors,
``--iterations`` sweeps, implicit's CG kernel through ``models.als_fit.sweeps``) and prints per
iteration: the relative change of the item factors ‖Yₜ − Yₜ₋₁‖_F / ‖Yₜ‖_F (what the fit's
``stop_below`` compares), the same for the user factors, the largest relative change of one item
vector, and, with ``--loss``, implicit's training loss (one more pass over the ratings).

With ``--holdout`` the item factors are kept at the iterations of ``--at``, every user is re-solved
exactly against each (``fold_in_rows``, as the product does after its sweeps) and P@10 / NDCG@10
are computed on the test ratings of ``--users`` sampled test users (training items excluded), with
the standard error of the mean over those users. Nothing is written.
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
from recsys_tui.data.splits import stratified_split
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.als_fit import sweeps
from recsys_tui.models.bundle import build_matrix


def _metrics(model: ALSRecommender, train: sp.csr_matrix, relevant: sp.csr_matrix, rows: np.ndarray,
             k: int = 10) -> tuple[float, float, float, float]:
    """(P@k, its standard error, NDCG@k, its standard error) over ``rows`` (binary gains)."""
    users = model.fold_in_rows(train[rows])
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    precision, ndcg = [], []
    for lo in range(0, len(rows), 2000):
        part = slice(lo, lo + 2000)
        scores = users[part] @ model.item_factors.T
        seen = train[rows[part]]
        scores[np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr)), seen.indices] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)
        rel = relevant[rows[part]]
        hits = np.zeros(top.shape)
        for r in range(top.shape[0]):
            hits[r] = np.isin(top[r], rel.indices[rel.indptr[r]:rel.indptr[r + 1]])
        n_rel = np.diff(rel.indptr)
        ideal = np.array([discount[:min(n, k)].sum() for n in n_rel])
        precision.append(hits.mean(axis=1))
        ndcg.append((hits * discount).sum(axis=1) / ideal)
    p, g = np.concatenate(precision), np.concatenate(ndcg)
    return p.mean(), p.std() / np.sqrt(len(p)), g.mean(), g.std() / np.sqrt(len(g))


class Watch:
    """The sweeps' callback: prints each iteration's changes (and loss), keeps the factors of ``at``."""

    def __init__(self, seed: int, cui: sp.csr_matrix, regularization: float, at: list[int],
                 loss: bool) -> None:
        self.seed, self.cui, self.regularization, self.at, self.loss = seed, cui, regularization, at, loss
        self.kept: dict[int, np.ndarray] = {}
        self.last: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, iteration: int, x: np.ndarray, y: np.ndarray) -> None:
        line = f"seed {self.seed} it {iteration:3d}"
        if self.last is not None:
            dy = np.linalg.norm(y - self.last[1]) / np.linalg.norm(y)
            dx = np.linalg.norm(x - self.last[0]) / np.linalg.norm(x)
            rows = np.linalg.norm(y - self.last[1], axis=1) / np.maximum(np.linalg.norm(y, axis=1), 1e-12)
            line += f"  dY {dy:.3e}  dX {dx:.3e}  max row dY {rows.max():.3e}"
        if self.loss:
            from implicit.cpu import _als

            line += f"  loss {_als.calculate_loss(self.cui, x, y, self.regularization):.6f}"
        print(line, flush=True)
        self.last = (x.copy(), y.copy())
        if iteration in self.at:
            self.kept[iteration] = y.copy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--seeds", default="0", help="comma-separated random_state values")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--holdout", action="store_true", help="fit on a stratified 75 %% split, score the rest")
    ap.add_argument("--at", default="30", help="iterations whose factors are scored (with --holdout)")
    ap.add_argument("--users", type=int, default=30000, help="test users scored (sampled, seed 0)")
    ap.add_argument("--loss", action="store_true", help="also print implicit's training loss")
    args = ap.parse_args()
    home = Home(args.home.expanduser().absolute(), args.dataset)
    dataset = load_dataset(home.data, home.dataset)
    item_ids = np.array(sorted(dataset.movies))
    at = sorted({int(a) for a in args.at.split(",")})
    print(f"{args.dataset}: load average {os.getloadavg()}", flush=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        inter, test = (stratified_split(dataset.interactions, 0.25, seed) if args.holdout
                       else (dataset.interactions, None))
        users, items = IdMap.from_ids(inter.user_ids), IdMap.from_ids(item_ids)
        train = build_matrix(inter, users, items)
        model = ALSRecommender(random_state=seed)
        c = model.config
        model.weighting.fit(train)
        cui = sp.csr_matrix((model.weighting.confidences(train).astype(np.float32), train.indices,
                             train.indptr), shape=train.shape)
        watch = Watch(seed, cui, c.regularization, at, args.loss)
        start = time.perf_counter()
        sweeps(cui, c.factors, c.regularization, args.iterations, seed, callback=watch)
        print(f"seed {seed}: {args.iterations} iterations in {time.perf_counter() - start:.1f} s, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        if test is None:
            continue
        test_rows = users.indices(test.user_ids)
        test_cols = items.indices(test.item_ids)
        ok = (test_rows >= 0) & (test_cols >= 0)
        relevant = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (test_rows[ok], test_cols[ok])),
                                 shape=train.shape)
        candidates = np.flatnonzero(np.diff(relevant.indptr) > 0)
        rows = np.sort(np.random.default_rng(0).choice(candidates, min(args.users, len(candidates)),
                                                       replace=False))
        for iteration, y in sorted(watch.kept.items()):
            model.item_factors = y
            model._forget()
            p, pe, g, ge = _metrics(model, train, relevant, rows)
            print(f"seed {seed} holdout at it {iteration:3d}: P@10 {p:.4f} ± {pe:.4f}  "
                  f"NDCG@10 {g:.4f} ± {ge:.4f}  ({len(rows):,} users)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

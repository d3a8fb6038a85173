"""Top-K metrics exactly as docs/METHOD.md §5 defines them.

``recs`` is users × K item indices (best first, -1 = empty slot); ``relevant`` is a users × items
CSR whose non-zeros are each user's test items (every test rating is relevant).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hit_matrix(recs: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean users × K: is the item at each rank relevant to that user?"""
    rows = np.repeat(np.arange(recs.shape[0]), recs.shape[1]).reshape(recs.shape)
    valid = recs >= 0
    hits = np.zeros(recs.shape, dtype=bool)
    hits[valid] = np.asarray(relevant[rows[valid], recs[valid]]).ravel() != 0
    return hits


def ranking_metrics(recs: np.ndarray, relevant: sp.csr_matrix, k: int = 10) -> dict[str, float]:
    """Precision@k, Recall@k, NDCG@k (binary gains) and MAP@k averaged over users with test items.

    MAP@k: the sum of precision at each hit rank, divided by the user's number of test items
    (Microsoft Recommenders' definition, not min(k, n)).
    """
    recs = recs[:, :k]
    n_rel = np.diff(relevant.indptr)
    users = n_rel > 0
    hits = hit_matrix(recs, relevant)[users].astype(np.float64)
    n_rel = n_rel[users].astype(np.float64)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(ranks + 1.0)
    dcg = hits @ discounts
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(int)]
    precision_at = np.cumsum(hits, axis=1) / ranks
    return {
        "precision": float((hits.sum(axis=1) / k).mean()),
        "recall": float((hits.sum(axis=1) / n_rel).mean()),
        "ndcg": float((dcg / idcg).mean()),
        "map": float(((precision_at * hits).sum(axis=1) / n_rel).mean()),
        "users": int(users.sum()),
    }


def coverage(recs: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one user's list."""
    shown = np.unique(recs[recs >= 0])
    return float(len(shown) / n_items) if n_items else 0.0


def personalization(recs: np.ndarray) -> float:
    """1 − mean pairwise Jaccard similarity of users' lists (1 = nobody shares an item)."""
    n = recs.shape[0]
    if n < 2:
        return 0.0
    rows = np.repeat(np.arange(n), recs.shape[1])
    cols = recs.ravel()
    keep = cols >= 0
    member = sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, int(cols.max()) + 1)
    )
    member.data[:] = 1.0  # duplicates (none expected) still count once
    sizes = np.asarray(member.sum(axis=1)).ravel()
    inter = (member @ member.T).toarray()
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
    upper = np.triu_indices(n, k=1)
    return float(1.0 - jac[upper].mean())

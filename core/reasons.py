"""Why an item is recommended: the rated item that contributes most to its score.

For ALS the user vector is x = A⁻¹ Σⱼ cⱼ yⱼ (fold-in), so an item's score yᵢᵀx splits exactly into
per-rated-item terms cⱼ · yᵢᵀA⁻¹yⱼ. For EASE the score is Σⱼ xⱼ Bⱼᵢ; the two-stage hybrid sums
both, each scaled by its spread over the candidates. Either way the reason names the largest true
term; nothing is made up.
"""

from __future__ import annotations

import numpy as np


def top_contributors(model, items: np.ndarray, ratings: np.ndarray,
                     targets: np.ndarray, recency: np.ndarray | None = None) -> np.ndarray | None:
    """For each target item index, the position in ``items`` of its largest contributor.

    ``recency`` (ALS only): the entries' online recencies, passed on to ``contributions`` so the
    terms use the same confidences as the fold-in.

    Returns ``None`` when the model has no exact decomposition (popularity, random); entries are
    -1 where no rated item contributes positively.
    """
    items = np.asarray(items, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(items) == 0 or len(targets) == 0:
        return None
    if hasattr(model, "contributions"):  # the model decomposes its own score (ALS, hybrid)
        contrib = model.contributions(items, ratings, targets) if recency is None \
            else model.contributions(items, ratings, targets, recency)
    elif hasattr(model, "gram") and hasattr(model, "weighting"):
        conf = model.weighting.row(items, ratings)
        y = model.item_factors[items].astype(np.float64)
        a = model.gram + (y.T * (np.abs(conf) - 1.0)) @ y
        w = np.linalg.solve(a, model.item_factors[targets].astype(np.float64).T)
        contrib = (y @ w) * np.where(conf > 0, conf, 0.0)[:, None]
    elif hasattr(model, "B"):
        values = model._values(ratings)
        contrib = values[:, None] * model.B[np.ix_(items, targets)]
    elif hasattr(model, "base") and hasattr(model.base, "gram"):
        return top_contributors(model.base, items, ratings, targets)
    else:
        return None
    best = np.argmax(contrib, axis=0)
    best[contrib[best, np.arange(len(targets))] <= 0] = -1
    return best

"""Why an item is recommended: the rated item that contributes most to its score.

For ALS the user vector is x = A⁻¹ Σⱼ cⱼ yⱼ (fold-in), so an item's score yᵢᵀx splits exactly into
per-rated-item terms cⱼ · yᵢᵀA⁻¹yⱼ. For EASE the score is Σⱼ xⱼ Bⱼᵢ; the two-stage hybrid sums
both, each scaled by its spread over the candidates. Either way the reason names the largest true
term; nothing is made up.
"""

from __future__ import annotations

import numpy as np
from recsys_tui.models.base import Recommender


def top_contributors(model: Recommender, items: np.ndarray, ratings: np.ndarray,
                     targets: np.ndarray, recency: np.ndarray | None = None) -> np.ndarray | None:
    """For each target item index, the position in ``items`` of its largest contributor.

    ``recency``: the entries' online recencies, passed on to ``Recommender.contributions`` so the
    terms use the same confidences as the fold-in (models that do not weigh recency ignore it).

    Returns ``None`` when the model's score has no exact decomposition (``contributions`` is
    ``None``: popularity, random); entries are -1 where no rated item contributes positively.
    """
    items = np.asarray(items, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(items) == 0 or len(targets) == 0:
        return None
    contrib = model.contributions(items, ratings, targets, recency)
    if contrib is None:
        return None
    best = np.argmax(contrib, axis=0)
    best[contrib[best, np.arange(len(targets))] <= 0] = -1
    return best

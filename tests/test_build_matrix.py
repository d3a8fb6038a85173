"""The rating matrix and id maps a fit starts from: the linear-time paths give what the sorting
paths gave (a repeated pair keeps its latest rating; unknown ids map to -1)."""

from __future__ import annotations

import numpy as np
import pytest
from recsys_tui.data.movielens import Interactions
from recsys_tui.data.vocab import DENSE_LIMIT, IdMap
from recsys_tui.models.bundle import build_matrix


def _interactions(seed: int, n: int, repeats: bool) -> Interactions:
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, 40 * 70, n) if repeats else rng.choice(40 * 70, n, replace=False)
    users, items = 1 + pairs // 70 * 3, 10 + pairs % 70 * 7  # gaps in both vocabularies
    times = rng.integers(0, 50, n)  # many ties
    stars = rng.integers(1, 11, n) / 2
    return Interactions.from_arrays(users, items, stars, times)


def _oracle(inter: Interactions, users: IdMap, items: IdMap) -> np.ndarray:
    """Dense matrix by hand: the latest rating of each pair (ties: the later row)."""
    out = np.zeros((len(users), len(items)), np.float32)
    when: dict[tuple[int, int], tuple[int, int]] = {}
    for row, (u, i, r, t) in enumerate(zip(inter.user_ids.tolist(), inter.item_ids.tolist(),
                                           inter.ratings.tolist(), inter.timestamps.tolist(), strict=True)):
        ui, ii = users.index(u), items.index(i)
        if ui is None or ii is None:
            continue
        if (ui, ii) not in when or (t, row) >= when[(ui, ii)]:
            when[(ui, ii)] = (t, row)
            out[ui, ii] = r
    return out


@pytest.mark.parametrize("repeats", [False, True])
@pytest.mark.parametrize("unknown", [False, True])
def test_build_matrix_keeps_the_latest_rating_of_each_pair(repeats, unknown):
    inter = _interactions(1, 1500, repeats)
    users, items = IdMap.from_ids(inter.user_ids), IdMap.from_ids(inter.item_ids)
    if unknown:  # ids outside the vocabularies are dropped
        users = IdMap(users.ids[::2].copy())
    mat = build_matrix(inter, users, items)
    assert mat.shape == (len(users), len(items)) and mat.dtype == np.float32 and mat.has_sorted_indices
    np.testing.assert_array_equal(mat.toarray(), _oracle(inter, users, items))
    assert mat.nnz == np.count_nonzero(_oracle(inter, users, items))


@pytest.mark.parametrize("ids", [
    np.array([5, 3, 3, 9, 0, 5]),  # small: the table path
    np.array([7, 2**40, 3, 2**40]),  # huge ids: the sorting path
    np.array([-4, 2, 2, 9]),  # negative ids: the sorting path
    np.array([DENSE_LIMIT + 1, 1]),
])
def test_id_maps_equal_sorting_and_binary_search(ids):
    vocab = IdMap.from_ids(ids)
    np.testing.assert_array_equal(vocab.ids, np.unique(ids))
    probe = np.concatenate([ids, [-1, 1, 4, 10, 2**41, int(vocab.ids.max()) + 1]])
    expected = np.array([int(np.searchsorted(vocab.ids, x)) if x in set(vocab.ids.tolist()) else -1
                         for x in probe.tolist()])
    np.testing.assert_array_equal(vocab.indices(probe), expected)
    assert vocab.indices(np.array([], np.int64)).shape == (0,)
    assert IdMap.from_ids(np.array([], np.int64)).ids.shape == (0,)

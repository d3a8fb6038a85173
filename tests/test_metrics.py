"""Top-K metrics on hand-computed cases, exactly as docs/METHOD.md §5 defines them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from recsys_tui.training.metrics import coverage, hit_matrix, personalization, ranking_metrics


def relevant(rows: list[list[int]], n_items: int = 10) -> sp.csr_matrix:
    """users × items CSR with a 1 for every test item of each user."""
    r = [u for u, items in enumerate(rows) for _ in items]
    c = [i for items in rows for i in items]
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n_items))


D2, D3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3


def test_two_users_by_hand():
    recs = np.array([[0, 1, 2], [3, 4, 5]])
    rel = relevant([[1, 5], [3]])
    # user 0: one hit at rank 2 of 2 relevant; user 1: one hit at rank 1 of 1 relevant
    m = ranking_metrics(recs, rel, k=3)
    assert m["users"] == 2
    assert m["precision"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert m["recall"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["ndcg"] == pytest.approx((D2 / (1 + D2) + 1.0) / 2)
    assert m["map"] == pytest.approx(((1 / 2) / 2 + 1.0) / 2)


def test_perfect_and_empty_lists():
    rel = relevant([[0, 1, 2]])
    perfect = ranking_metrics(np.array([[2, 0, 1]]), rel, k=3)
    assert perfect == {"precision": 1.0, "recall": 1.0, "ndcg": pytest.approx(1.0), "map": 1.0, "users": 1}
    nothing = ranking_metrics(np.array([[5, 6, 7]]), rel, k=3)
    assert nothing["precision"] == nothing["recall"] == nothing["ndcg"] == nothing["map"] == 0.0


def test_map_divides_by_the_number_of_test_items_not_by_k():
    """Microsoft Recommenders' MAP: sum of precision at each hit / |test items| (5 here, K = 2)."""
    rel = relevant([[0, 1, 2, 3, 4]])
    m = ranking_metrics(np.array([[0, 1]]), rel, k=2)
    assert m["map"] == pytest.approx((1 + 1) / 5)
    assert m["recall"] == pytest.approx(2 / 5)
    assert m["precision"] == 1.0
    assert m["ndcg"] == pytest.approx(1.0)  # ideal DCG uses min(K, |test items|) = 2 gains


def test_map_and_ndcg_with_hits_at_ranks_one_and_three():
    rel = relevant([[0, 2, 9]])
    m = ranking_metrics(np.array([[0, 1, 2]]), rel, k=3)
    assert m["map"] == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert m["ndcg"] == pytest.approx((1 + D3) / (1 + D2 + D3))
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)


def test_users_without_test_items_are_left_out_and_empty_slots_miss():
    rel = relevant([[1], [], [4]])
    recs = np.array([[1, -1, -1], [0, 1, 2], [-1, -1, 4]])
    m = ranking_metrics(recs, rel, k=3)
    assert m["users"] == 2
    assert m["precision"] == pytest.approx(1 / 3)  # an empty slot still counts in the denominator K
    assert m["recall"] == 1.0
    assert m["ndcg"] == pytest.approx((1.0 + D3) / 2)
    assert m["map"] == pytest.approx((1.0 + 1 / 3) / 2)


def test_k_truncates_longer_lists():
    rel = relevant([[3]])
    recs = np.array([[0, 1, 2, 3]])
    assert ranking_metrics(recs, rel, k=3)["precision"] == 0.0
    assert ranking_metrics(recs, rel, k=4)["precision"] == pytest.approx(1 / 4)


def test_hit_matrix_marks_relevant_ranks():
    rel = relevant([[2], [0, 1]])
    hits = hit_matrix(np.array([[2, 0], [-1, 1]]), rel)
    assert hits.tolist() == [[True, False], [False, True]]


def test_coverage_counts_distinct_items_over_the_catalogue():
    assert coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)
    assert coverage(np.array([[0, -1], [0, -1]]), 4) == pytest.approx(0.25)
    assert coverage(np.array([[0, 1, 2, 3]]), 4) == 1.0


@pytest.mark.parametrize(("recs", "expected"), [
    ([[0, 1], [0, 1]], 0.0),             # identical lists
    ([[0, 1], [2, 3]], 1.0),             # disjoint lists
    ([[0, 1], [1, 2]], 1 - 1 / 3),       # Jaccard = 1 shared / 3 in the union
    ([[0, 1], [0, 1], [2, 3]], 1 - 1 / 3),  # pairwise Jaccard 1, 0, 0
    ([[0, 1, 2], [0, 3, 4], [5, 6, 7]], 1 - (1 / 5) / 3),
])
def test_personalization_is_one_minus_mean_pairwise_jaccard(recs, expected):
    assert personalization(np.array(recs)) == pytest.approx(expected)


def test_personalization_of_a_single_user_is_zero():
    assert personalization(np.array([[0, 1, 2]])) == 0.0

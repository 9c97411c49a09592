"""benchmarks/candidate_leak.py: the rank of a project's best-ranked answerer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmarks.modules import benchmark_module


@pytest.fixture(scope="module")
def leak():
    return benchmark_module("candidate_leak")


def test_first_hit_rank_is_the_best_ranked_acceptable_expert(leak):
    scores = np.array([[0.1, 0.9, 0.5], [0.3, 0.2, 0.1]])
    ranks = leak.first_hit_ranks(scores, [7, 8, 9], [{"9", "7"}, {"9"}])
    # Row 1 ranks 8, 9, 7: 9 is second. Row 2 ranks 7, 8, 9: 9 is third.
    assert ranks.tolist() == [2, 3]


def test_summary(leak):
    row = leak.summary(np.array([1, 2, 4, 30]), k=20)
    assert row["mrr"] == pytest.approx((1 + 0.5 + 0.25 + 1 / 30) / 4)
    assert row["hit@1"] == 0.25
    assert row["in top 20"] == 0.75
    assert row["median rank"] == 3.0

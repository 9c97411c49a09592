"""Ranking metrics on hand-computed cases, random expectations, bootstrap CIs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from expert_kedro.evaluation.metrics import (
    METRIC_NAMES,
    bootstrap_summary,
    expected_random_metrics,
    hit_at_k,
    ndcg_at_k,
    per_project_metrics,
    project_metrics,
    reciprocal_rank,
)


def test_hit_at_k_single_and_multi_answer():
    ranked = [30, 10, 20, 40, 50, 60]
    assert hit_at_k(ranked, {10}, 1) == 0.0
    assert hit_at_k(ranked, {10}, 2) == 1.0
    # Any acceptable expert counts: 60 is outside the top 5 but 30 is first.
    assert hit_at_k(ranked, {60, 30}, 1) == 1.0
    assert hit_at_k(ranked, {60}, 5) == 0.0
    assert hit_at_k(ranked, {99}, 6) == 0.0


def test_reciprocal_rank_uses_first_acceptable_expert():
    ranked = [5, 4, 3, 2, 1]
    assert reciprocal_rank(ranked, {2}) == pytest.approx(1 / 4)
    assert reciprocal_rank(ranked, {1, 4}) == pytest.approx(1 / 2)
    assert reciprocal_rank(ranked, {9}) == 0.0
    assert reciprocal_rank([], {1}) == 0.0


def test_ndcg_at_5_hand_computed():
    # Acceptable experts at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5);
    # ideal puts both on top: 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([9, 1, 8, 2, 7], {1, 2}, 5) == pytest.approx(expected)
    assert expected == pytest.approx(0.65093, abs=1e-5)
    assert ndcg_at_k([1, 9, 8], {1}, 5) == pytest.approx(1.0)
    assert ndcg_at_k([9, 1], {1}, 5) == pytest.approx(1 / math.log2(3))
    # Rank 6 is beyond the cut-off.
    assert ndcg_at_k([9, 8, 7, 6, 5, 1], {1}, 5) == 0.0
    assert ndcg_at_k([1], set(), 5) == 0.0


def test_project_and_per_project_metrics():
    values = project_metrics([7, 3, 5], [3])
    assert values == {
        "hit@1": 0.0,
        "hit@5": 1.0,
        "mrr": 0.5,
        "ndcg@5": 1 / math.log2(3),
    }
    table = per_project_metrics([[1, 2], [2, 1]], [[1], [1]])
    assert list(table.columns) == list(METRIC_NAMES)
    assert table["hit@1"].tolist() == [1.0, 0.0]
    assert table["mrr"].mean() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="aligned"):
        per_project_metrics([[1]], [[1], [2]])


def test_expected_random_metrics_closed_form():
    # One acceptable expert among 10: P(hit@k) = k/10, E[1/rank] = H_10 / 10.
    values = expected_random_metrics(1, 10)
    assert values["hit@1"] == pytest.approx(0.1)
    assert values["hit@5"] == pytest.approx(0.5)
    assert values["mrr"] == pytest.approx(sum(1 / r for r in range(1, 11)) / 10)
    assert values["ndcg@5"] == pytest.approx(
        0.1 * sum(1 / math.log2(i + 1) for i in range(1, 6))
    )
    # Two acceptable among 150: P(miss top-1) = 148/150.
    assert expected_random_metrics(2, 150)["hit@1"] == pytest.approx(2 / 150)
    assert expected_random_metrics(3, 3)["hit@1"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n_acceptable"):
        expected_random_metrics(0, 10)


def test_expected_random_metrics_match_simulation():
    rng = np.random.default_rng(0)
    n_experts, acceptable = 20, {0, 1}
    draws = pd.DataFrame(
        [
            project_metrics(rng.permutation(n_experts).tolist(), acceptable)
            for _ in range(20000)
        ]
    ).mean()
    expected = expected_random_metrics(len(acceptable), n_experts)
    for metric in METRIC_NAMES:
        assert draws[metric] == pytest.approx(expected[metric], abs=0.01), metric


def test_bootstrap_summary_interval_and_reproducibility():
    values = pd.DataFrame({"hit@1": [1.0, 0.0] * 100, "mrr": [0.5] * 200})
    summary = bootstrap_summary(values, n_boot=2000, seed=3)
    hit = summary["hit@1"]
    assert hit["value"] == pytest.approx(0.5)
    # Normal approximation of the interval half-width: 1.96 * sqrt(0.25 / 200).
    half_width = 1.96 * math.sqrt(0.25 / 200)
    assert hit["ci_low"] == pytest.approx(0.5 - half_width, abs=0.015)
    assert hit["ci_high"] == pytest.approx(0.5 + half_width, abs=0.015)
    # A constant metric has a zero-width interval.
    assert summary["mrr"] == {"value": 0.5, "ci_low": 0.5, "ci_high": 0.5}
    assert bootstrap_summary(values, n_boot=2000, seed=3) == summary
    assert bootstrap_summary(values, n_boot=2000, seed=4) != summary


def test_bootstrap_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="zero projects"):
        bootstrap_summary(pd.DataFrame({"mrr": []}), n_boot=10, seed=0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_summary(pd.DataFrame({"mrr": [1.0]}), n_boot=0, seed=0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_summary(
            pd.DataFrame({"mrr": [1.0]}), n_boot=10, seed=0, confidence=1.5
        )

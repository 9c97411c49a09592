"""benchmarks/recency_ablation.py: the two candidate stages differ only by recency."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.benchmarks.modules import benchmark_module
from tests.retrieval.test_recency import VAGUE, _index


@pytest.fixture(scope="module")
def ablation():
    return benchmark_module("recency_ablation")


def test_recency_gain_is_paired_against_the_same_index_without_it(ablation):
    # Vague agendas answered by whoever answered the project just before.
    projects = pd.DataFrame(
        {
            "project_id": ["1003", "1006", "1008"],
            "agenda": [VAGUE] * 3,
            "acceptable_expert_ids": [["101"], ["202"], ["404"]],
        }
    )
    index = _index({"time_from": "project_id", "window": 1, "weight": 1.0})
    result = ablation.compare(index, projects)
    test = result["test"]
    assert list(test) == [
        ablation.WITHOUT,
        "hybrid+prior",
        "popularity",
        "recent_activity",
    ]
    # Recency alone at weight 1 ranks every project's answerer first.
    assert test["hybrid+prior"]["hit@1"] == test["recent_activity"]["hit@1"] == 1.0
    assert test[ablation.WITHOUT]["mrr"] < 1.0
    assert result["mrr_gain"] == pytest.approx(1.0 - test[ablation.WITHOUT]["mrr"])
    low, high = result["mrr_gain_ci"]
    assert 0.0 <= low <= result["mrr_gain"] <= high
    assert result["recency"]["window"] == 1

    # Without a time source both stages are the same ranking: no gain.
    off = ablation.compare(_index({"time_from": None}), projects)
    assert off["mrr_gain"] == 0.0 and "recent_activity" not in off["test"]

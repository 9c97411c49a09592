"""benchmarks/topics_line.py: per-project test MRR of each saved baseline."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.benchmarks.modules import benchmark_module


@pytest.fixture(scope="module")
def topics_line():
    return benchmark_module("topics_line")


def _rankings(system: str, orders: dict[str, list[str]], split: str = "test"):
    return [
        {
            "system": system,
            "split": split,
            "variant": "full",
            "project_id": project,
            "rank": rank,
            "expert_id": expert,
        }
        for project, experts in orders.items()
        for rank, expert in enumerate(experts, start=1)
    ]


def test_mrr_per_project_reads_test_full_rankings_only(topics_line):
    rows = []
    for system in topics_line.SYSTEMS:
        rows += _rankings(system, {"p1": ["a", "b"], "p2": ["b", "a"]})
    # A validation ranking that puts the answer first must not count.
    rows += _rankings("bm25", {"p3": ["a", "b"]}, split="validation")
    data = {
        "test_projects": pd.DataFrame(
            {"project_id": ["p1", "p2"], "acceptable_expert_ids": [["b"], ["b"]]}
        ),
        "baseline_rankings": pd.DataFrame(rows).sample(frac=1.0, random_state=0),
    }
    result = topics_line.per_project_mrr(data)
    assert set(result) == set(topics_line.SYSTEMS)
    assert result["bm25"].to_dict() == {"p1": 0.5, "p2": 1.0}

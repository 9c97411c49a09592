"""benchmarks/activity_line.py: two cross-encoders that differ only by the line."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.benchmarks.modules import benchmark_module
from tests.training_data.activity_toys import (
    AGENDA,
    ROSTER,
    toy_index,
    toy_pairs,
    toy_validation,
)


@pytest.fixture(scope="module")
def benchmark():
    return benchmark_module("activity_line")


def test_the_two_runs_share_pairs_and_seed_and_differ_by_the_line(benchmark):
    pairs = toy_pairs()
    index = toy_index(pairs)
    validation_pairs, validation_projects = toy_validation()
    test = pd.DataFrame(
        {
            "project_id": ["1009", "1010"],
            "agenda": [AGENDA, ["Where are container charter rates heading?"]],
            "acceptable_expert_ids": [["202"], ["404"]],
        }
    )
    data = {
        "retrieval_index": index,
        "expert_roster": ROSTER,
        "clean_matches": pairs,  # the project id is the time here
        "train_pairs": pairs,
        "augmented_train_pairs": pairs.iloc[:0],
        "validation_pairs": validation_pairs,
        "validation_projects": validation_projects,
        "test_projects": test,
    }
    params = {
        "recommender": {
            "candidates": 4,
            "history_questions": 0,
            "candidate_region": False,
            "agenda_region": False,
            "weight_grid": [0.0, 1.0],
        },
        "rerank_pairs": {"hard_negatives": 3, "random_negatives": 0},
        "cross_encoder": {"max_length": 128, "batch_size": 8, "max_train_pairs": None},
    }
    result = benchmark.compare(data, params, window=2)
    runs = result["runs"]
    assert (
        runs["without"]["candidate_activity"],
        runs["with"]["candidate_activity"],
    ) == (
        0,
        2,
    )
    assert runs["without"]["train_rows"] == runs["with"]["train_rows"] == 28
    assert runs["without"]["training"]["train_pairs"] == 28
    assert list(result["test"]) == [
        "hybrid+prior",
        "cross_encoder without line",
        "cross_encoder with line",
    ]
    for mean, low, high in result["gains"].values():
        assert low <= mean <= high
    text = benchmark.report(
        {**result, "site": "toy", "date": "d", "machine": "m", "command": "c"}
    )
    assert "| cross_encoder with line |" in text
    assert "(candidate_activity=2)" in text

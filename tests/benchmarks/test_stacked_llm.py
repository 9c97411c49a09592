"""benchmarks/stacked_llm.py: the saved candidates and scores of a GPU run, joined
to the roster-wide signals of the local split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.benchmarks.modules import benchmark_module

ROSTER = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def stacked_llm():
    return benchmark_module("stacked_llm")


def _roster_split(stacked_llm):
    split_class = benchmark_module("stacked_signals").Split
    matrix = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 2.0], [-1.0, 3.0]])  # a b c d
    return split_class(
        [matrix], ["stage", "tags"], [np.array([0, 0, 1, 0])], [["c"]], [(ROSTER, [])]
    )


def _scores(project: str = "7") -> pd.DataFrame:
    # The run scored b, c, a (its top 3, stage order b > c > a); d is the tail.
    return pd.DataFrame(
        {
            "split": "test",
            "project_id": project,
            "rank": [1, 2, 3, 4],
            "expert_id": ["c", "b", "a", "d"],
            "retrieval_score": [0.8, 0.9, 0.7, 0.1],
            "llm_score": [2.0, 1.0, 0.0, np.nan],
            "cross_score": [0.3, 0.2, 0.1, np.nan],
        }
    )


def test_candidates_in_stage_order_then_the_tail(stacked_llm):
    split = stacked_llm.candidate_split(
        _roster_split(stacked_llm), [7], ROSTER, _scores()
    )
    ((ids, tail),) = split.lists
    assert ids == ["b", "c", "a"]
    assert tail == ["d"]
    assert split.names == ["stage", "tags", "llm", "cross_encoder"]
    assert split.labels[0].tolist() == [0, 1, 0]
    matrix = split.matrices[0]
    assert matrix.shape == (3, 4)
    # Each input is z-scored among the candidates: the tags of b, c, a (1, 2, 0)
    # and the LLM's scores (1, 2, 0) order the same way.
    assert np.argsort(matrix[:, 1]).tolist() == np.argsort(matrix[:, 2]).tolist()
    assert matrix.mean(axis=0) == pytest.approx(np.zeros(4), abs=1e-9)


def test_a_run_of_another_split_is_refused(stacked_llm):
    with pytest.raises(ValueError, match="not the same import and split"):
        stacked_llm.candidate_split(
            _roster_split(stacked_llm), [7], ROSTER, _scores(project="8")
        )


def test_llm_only_ranking_puts_its_best_first(stacked_llm):
    split = stacked_llm.candidate_split(
        _roster_split(stacked_llm), [7], ROSTER, _scores()
    )
    mrr = stacked_llm.weighted_mrr(split, ["llm"], {"llm": 1.0})
    assert mrr.tolist() == [1.0]  # c has the highest LLM score and is acceptable
    stage = stacked_llm.weighted_mrr(split, ["stage"], {"stage": 1.0})
    assert stage.tolist() == [0.5]  # the stage puts b first, c second

"""The one grid tuner shared by the hybrid and the rerank fusion weights."""

from __future__ import annotations

import pytest

from expert_kedro.evaluation.tuning import tune_weight

# Two projects whose acceptable experts are 1 and 2.
ACCEPTABLE = [[1], [2]]


def _rankings(weight: float) -> list[list[int]]:
    """Weight >= 0.6 ranks both acceptable experts first; below, only the first."""
    return [[1, 2, 3], [2, 1, 3]] if weight >= 0.6 else [[1, 2, 3], [3, 2, 1]]


def test_best_weight_and_the_grid_table():
    weight, table = tune_weight(
        _rankings, ACCEPTABLE, [0.0, 0.5, 0.8], name="retrieval_weight"
    )
    assert weight == 0.8
    assert table["retrieval_weight"].tolist() == [0.0, 0.5, 0.8]
    assert table["hit@1"].tolist() == [0.5, 0.5, 1.0]
    assert table.loc[0, "mrr"] == pytest.approx((1 + 1 / 2) / 2)


def test_ties_go_to_the_weight_closest_to_one_half():
    weight, _ = tune_weight(_rankings, ACCEPTABLE, [0.6, 1.0, 0.7])
    assert weight == 0.6
    weight, _ = tune_weight(lambda w: [[1], [2]], ACCEPTABLE, [0.0, 0.4, 1.0])
    assert weight == 0.4


@pytest.mark.parametrize(
    ("grid", "metric", "message"),
    [
        ([], "mrr", "empty"),
        ([0.2, 1.5], "mrr", r"outside \[0, 1\]"),
        ([0.5], "precision", "Unknown tuning metric"),
    ],
)
def test_bad_grids_and_metrics(grid, metric, message):
    with pytest.raises(ValueError, match=message):
        tune_weight(_rankings, ACCEPTABLE, grid, metric=metric)

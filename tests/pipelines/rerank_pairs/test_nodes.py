"""select_training_pairs / training_pairs and the composed training pipeline."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.pipelines.rerank_pairs.nodes import (
    select_training_pairs,
    training_pairs,
)
from expert_kedro.training_data.rerank_pairs import PAIR_COLUMNS


def _pairs(rows, output="Expert: A (ID 1)"):
    return pd.DataFrame(
        [
            {
                "project_id": p,
                "expert_id": e,
                "agenda": ["Q?"],
                "system": "s",
                "input": text,
                "output": output,
                "source": source,
            }
            for p, e, text, source in rows
        ],
        columns=list(PAIR_COLUMNS),
    )


TRAIN = _pairs([(1, 10, "full", "original"), (2, 11, "full2", "original")])
# augmented_train_pairs already holds the originals (include_original: true).
AUGMENTED = _pairs(
    [
        (1, 10, "full", "original"),
        (2, 11, "full2", "original"),
        (1, 10, "part", "partial"),
    ]
)
VALIDATION = _pairs([(3, 12, "val", "original")])
RERANK_TRAIN = _pairs([(1, 10, "r1", "original"), (1, 13, "r2", "original")], "yes")
RERANK_VALIDATION = _pairs([(3, 12, "rv", "original")], "no")


def test_training_pairs_deduplicates_originals():
    merged = training_pairs(TRAIN, AUGMENTED)
    assert sorted(merged["input"]) == ["full", "full2", "part"]


@pytest.mark.parametrize(
    ("params", "n_train", "n_validation", "outputs"),
    [
        ({"mode": "generative"}, 3, 1, {"Expert: A (ID 1)"}),
        ({"mode": "rerank"}, 2, 1, {"yes"}),
        (
            {"mode": "rerank", "rerank_with_generative_pairs": True},
            5,
            2,
            {"yes", "Expert: A (ID 1)"},
        ),
    ],
)
def test_select_training_pairs_follows_the_mode(params, n_train, n_validation, outputs):
    train, validation = select_training_pairs(
        TRAIN, AUGMENTED, VALIDATION, RERANK_TRAIN, RERANK_VALIDATION, params
    )
    assert tuple(train.columns) == PAIR_COLUMNS
    assert (len(train), len(validation)) == (n_train, n_validation)
    assert set(train["output"]) == outputs


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="recommender.mode"):
        select_training_pairs(
            TRAIN, AUGMENTED, VALIDATION, RERANK_TRAIN, RERANK_VALIDATION, {"mode": "x"}
        )


def test_training_pipeline_builds_rerank_pairs_before_model_training():
    from kedro.framework.startup import bootstrap_project

    from tests.conftest import PROJECT_ROOT

    bootstrap_project(PROJECT_ROOT)
    from expert_kedro.pipeline_registry import register_pipelines

    training = register_pipelines()["training"]
    names = {n.name for n in training.nodes}
    assert {"build_rerank_pairs_node", "select_training_pairs_node"} <= names
    assert "training_examples" in training.all_outputs()
    assert "training_examples" in training.inputs() | {
        i for n in training.nodes for i in n.inputs
    }

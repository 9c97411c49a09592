"""augment_pairs: only the chosen splits, no leakage, counts per source."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.pipelines.augmentation.nodes import augment_pairs
from expert_kedro.pipelines.data_processing.nodes import (
    build_expert_roster,
    build_instruction_pairs,
    select_clean_matches,
)
from expert_kedro.preprocessing.cleaning import clean_rows
from expert_kedro.training_data.formatting import parse_expert_line
from tests.pipelines.data_processing.factories import (
    PAIRS_PARAMS,
    raw_frame,
    raw_row,
    reference,
)

PARAMS = {
    "seed": 1,
    "min_questions": 4,
    "partial_sizes": [3, 4],
    "variants_per_agenda": 2,
    "splits": ["train"],
    "include_original": True,
}
SHARED = ["Shared one?", "Shared two?", "Shared three?"]


def _prepare(pairs_params=PAIRS_PARAMS):
    rows = [
        raw_row(1, 10),
        raw_row(1, 11),  # two-expert train project, 5 questions
        raw_row(2, 12, agenda_list=["A?", "B?", "C?"]),  # too short to augment
        raw_row(3, 13, agenda_list=[*SHARED, "Train only?"]),
        raw_row(4, 14),  # validation
        raw_row(5, 10, agenda_list=[*SHARED, "Test only?"]),  # test
    ]
    clean, _ = clean_rows(raw_frame(rows))
    matches = select_clean_matches(clean)
    roster, _ = build_expert_roster(
        clean, reference([10, 11, 12, 13, 14]), {"authoritative_source": "reference"}
    )
    splits = pd.DataFrame(
        {
            "project_id": ["1", "2", "3", "4", "5"],
            "split": ["train", "train", "train", "validation", "test"],
        }
    )
    train, validation, test, _ = build_instruction_pairs(
        matches, splits, roster, pairs_params
    )
    return train, validation, matches, splits, roster


def _augment(params=PARAMS, pairs_params=PAIRS_PARAMS):
    train, validation, matches, splits, roster = _prepare(pairs_params)
    return (
        train,
        validation,
        *augment_pairs(
            train, validation, matches, splits, roster, pairs_params, params
        ),
    )


def test_train_gets_partials_validation_untouched():
    train, validation, augmented, augmented_val, report = _augment()
    pd.testing.assert_frame_equal(
        augmented_val.reset_index(drop=True), validation.reset_index(drop=True)
    )
    originals = augmented[augmented["source"] == "original"]
    pd.testing.assert_frame_equal(
        originals.reset_index(drop=True), train.reset_index(drop=True)
    )
    partial = augmented[augmented["source"] == "partial"]
    assert list(augmented.columns) == list(train.columns)
    # Project 1: 2 variants x 2 experts; project 2: too short; project 3: see below.
    assert set(partial["project_id"]) <= {"1", "3"}
    assert len(partial[partial["project_id"] == "1"]) == 4
    counts = report["splits"]["train"]["examples_by_source"]
    assert counts == {"original": len(train), "partial": len(partial)}
    assert report["splits"]["validation"]["augmented"] is False


def test_partials_keep_order_size_and_pair_with_every_expert():
    train, _, augmented, _, _ = _augment()
    full = {
        p: list(a) for p, a in zip(train["project_id"], train["agenda"], strict=True)
    }
    partial = augmented[augmented["source"] == "partial"]
    for row in partial.itertuples():
        agenda = list(row.agenda)
        assert len(agenda) in (3, 4)
        positions = [full[row.project_id].index(q) for q in agenda]
        assert positions == sorted(positions)
        assert row.input.count("\n") == len(agenda)
        assert parse_expert_line(row.output).expert_id == row.expert_id
    project_1 = partial[partial["project_id"] == "1"]
    per_agenda = project_1.groupby(project_1["agenda"].map(tuple))["expert_id"]
    assert all(sorted(e) == ["10", "11"] for e in per_agenda.agg(list))


def test_partial_shared_with_a_test_agenda_is_removed():
    # Project 3 (train) has exactly 4 subsets of 3; one of them, SHARED, is also
    # inside test project 5's agenda and must not become a training input.
    params = PARAMS | {"partial_sizes": [3], "variants_per_agenda": 4}
    _, _, augmented, _, report = _augment(params)
    project_3 = augmented[
        (augmented["project_id"] == "3") & (augmented["source"] == "partial")
    ]
    assert len(project_3) == 3
    assert SHARED not in [list(a) for a in project_3["agenda"]]
    assert (
        report["splits"]["train"]["partial_agendas_removed_as_shared_with_other_split"]
        == 1
    )


def test_deterministic_and_seed_dependent():
    first = _augment()[2]
    pd.testing.assert_frame_equal(first, _augment()[2])
    other = _augment(PARAMS | {"seed": 2})[2]
    assert not first["agenda"].map(tuple).equals(other["agenda"].map(tuple))


def test_validation_can_be_augmented_and_test_cannot():
    _, validation, _, augmented_val, report = _augment(
        PARAMS | {"splits": ["train", "validation"]}
    )
    assert (augmented_val["source"] == "partial").sum() == 2
    assert report["splits"]["validation"]["examples_by_source"]["original"] == len(
        validation
    )
    with pytest.raises(ValueError, match="augmentation.splits"):
        _augment(PARAMS | {"splits": ["test"]})


def test_rationale_targets_use_only_answers_of_the_partial_agenda():
    pairs_params = PAIRS_PARAMS | {"output_format": "rationale"}
    params = PARAMS | {"include_original": False}
    _, _, augmented, _, _ = _augment(params, pairs_params)
    assert set(augmented["source"]) == {"partial"}
    for row in augmented.itertuples():
        quoted = [q for q in row.output.split('Asked "')[1:]]
        assert quoted
        assert all(q.split('", they')[0] in list(row.agenda) for q in quoted)
        assert row.system == PAIRS_PARAMS["system_prompts"]["rationale"]

"""Instruction pairs in both output formats, split without leaks."""

from __future__ import annotations

import pytest

from expert_kedro.pipelines.data_processing.nodes import (
    build_expert_roster,
    build_instruction_pairs,
    select_clean_matches,
    split_projects,
)
from expert_kedro.preprocessing.cleaning import clean_rows
from expert_kedro.training_data.formatting import parse_expert_line

from .factories import PAIRS_PARAMS, questions, raw_frame, raw_row, reference

PAIR_COLUMNS = [
    "project_id",
    "expert_id",
    "agenda",
    "system",
    "input",
    "output",
    "source",
]


@pytest.fixture(scope="module")
def prepared():
    rows = [raw_row(100 + p, 1 + p % 7) for p in range(40)]
    rows.append(raw_row(100, 99))  # project 100 has two experts
    clean, _ = clean_rows(raw_frame(rows))
    matches = select_clean_matches(clean)
    roster, _ = build_expert_roster(
        clean, reference([*range(1, 8), 99]), {"authoritative_source": "reference"}
    )
    splits, _ = split_projects(
        matches,
        {
            "seed": 0,
            "fractions": {"train": 0.6, "validation": 0.2, "test": 0.2},
            "ensure_train_coverage": False,
        },
    )
    return matches, splits, roster


def _pairs(prepared, **overrides):
    matches, splits, roster = prepared
    return build_instruction_pairs(matches, splits, roster, PAIRS_PARAMS | overrides)


def test_profile_pairs_schema_and_content(prepared):
    train, validation, test, report = _pairs(prepared)
    for frame in (train, validation, test):
        assert list(frame.columns) == PAIR_COLUMNS
        assert set(frame["source"]) == {"original"}
    assert len(train) + len(validation) + len(test) == 41
    assert report["pairs_per_split"] == {
        "train": len(train),
        "validation": len(validation),
        "test": len(test),
    }
    row = train.iloc[0]
    assert row["input"].startswith("Agenda:\n1. Question 1 about project")
    assert row["system"] == PAIRS_PARAMS["system_prompts"]["profile"]
    ref = parse_expert_line(row["output"])
    assert (ref.name, ref.expert_id) == (f"Expert {row['expert_id']}", row["expert_id"])
    assert "\nSkills: Widgets; Sourcing\n" in row["output"]


def test_no_project_in_two_splits_and_two_experts_together(prepared):
    train, validation, test, _ = _pairs(prepared)
    ids = [set(f["project_id"]) for f in (train, validation, test)]
    assert ids[0].isdisjoint(ids[1])
    assert ids[0].isdisjoint(ids[2])
    assert ids[1].isdisjoint(ids[2])
    both = [f for f in (train, validation, test) if 100 in set(f["project_id"])][0]
    assert sorted(both.loc[both["project_id"] == 100, "expert_id"]) == [1, 99]


def test_rationale_format_changes_target_and_system_prompt(prepared):
    train, *_ = _pairs(prepared, output_format="rationale", include_title=True)
    row = train.iloc[0]
    assert row["system"] == PAIRS_PARAMS["system_prompts"]["rationale"]
    assert row["input"].startswith(f"Project: Project {row['project_id']}\nAgenda:")
    first, paragraph = row["output"].split("\n")
    assert parse_expert_line(first).expert_id == row["expert_id"]
    assert "they answered" in paragraph
    assert f"Answer by {row['expert_id']}." in paragraph
    assert row["agenda"] == questions(row["project_id"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"output_format": "essay"}, "pairs.output_format"),
        (
            {
                "system_prompts": {"profile": "x", "rationale": " "},
                "output_format": "rationale",
            },
            "pairs.system_prompts.rationale is empty",
        ),
        ({"system_prompts": {"essay": "x"}}, r"pairs\.system_prompts\.essay"),
        ({"include_titel": True}, r"Unknown parameter\(s\) \['pairs\.include_titel'\]"),
        ({"rationale_max_answers": "2"}, "pairs.rationale_max_answers='2' has type"),
    ],
)
def test_bad_pairs_parameters_are_clear_errors(prepared, overrides, message):
    with pytest.raises(ValueError, match=message):
        _pairs(prepared, **overrides)

"""The candidate's ``Activity:`` line (``recommender.candidate_activity``): counted on
the index's timeline strictly before each agenda, the same in the training pairs and
at inference (toy projects 1001-1007 are answered by, in id order: 101, 101, 202,
202, 202, 303, 404)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from expert_kedro.modeling.handles import LoRAAdapterHandle
from expert_kedro.pipelines.rerank_pairs.nodes import build_rerank_pairs
from expert_kedro.recommender.adapters import AdapterMismatchError, check_adapter_layout
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.activity import CandidateActivity, candidate_activity
from expert_kedro.training_data.prompt_parts import split_user_turn
from expert_kedro.training_data.rerank_pairs import format_rerank_input
from tests.retrieval.toy_roster import make_toy_index
from tests.training_data.activity_toys import (
    AGENDA,
    ROSTER,
    toy_index,
    toy_pairs,
    toy_validation,
)

LAYOUT = {
    "candidate_activity": 2,
    "candidate_region": False,
    "agenda_region": False,
    "history_questions": 0,
}


def _line(recent: int, total: int, window: int = 2) -> str:
    return (
        f"Activity: {recent} of the last {window} projects before this one, "
        f"{total} in all"
    )


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return toy_pairs()


@pytest.fixture(scope="module")
def index(pairs):
    return toy_index(pairs)


def test_counts_are_strictly_before_the_agenda_and_now_counts_everything(index):
    activity = candidate_activity(index, 2, "test")
    assert isinstance(activity, CandidateActivity)
    lines = activity.lines(np.array([1003.0, 1006.0, np.nan]), [["101", "202"]] * 3)
    # Before 1003: 1001, 1002 (both 101); 1003 itself is not counted.
    assert lines[0] == [_line(2, 2), _line(0, 0)]
    # Before 1006: 1004, 1005 in the window (202); 1001-1005 in all.
    assert lines[1] == [_line(0, 2), _line(2, 3)]
    # Now (NaN): after every training project; the window holds 1006, 1007.
    assert lines[2] == [_line(0, 2), _line(0, 3)]
    assert activity.lines(None, [["404"]]) == [[_line(1, 1)]]


def test_no_window_or_no_timeline_means_no_line(caplog):
    plain = make_toy_index()  # no recency term, no timeline
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert candidate_activity(plain, 0, "test") is None
        assert not caplog.records
        assert candidate_activity(plain, 50, "build_rerank_pairs") is None
    [record] = caplog.records
    assert "build_rerank_pairs" in record.getMessage()
    assert "Activity line is switched off" in record.getMessage()


def test_the_line_is_right_under_the_name_and_the_length_policy_keeps_it():
    profile = ROSTER.iloc[1].to_dict()
    text = format_rerank_input(
        AGENDA, profile, ["Old question?"], region=True, activity=_line(1, 4)
    )
    lines = text.splitlines()
    at = lines.index(_line(1, 4))
    # Under the name, so that a reader truncating the block from the end keeps it.
    assert lines[at - 1] == "Expert: Expert 202 (ID 202)"
    assert lines[at + 1].startswith("Headline: ")
    assert "Region: Europe" in lines[at:]
    kinds = {u.prefix + u.body: u.kind for u in split_user_turn(text)}
    assert kinds[_line(1, 4)] == "fixed"  # never shortened or dropped
    assert kinds["Headline: " + profile["expert_headline"]] == "profile"
    assert _line(1, 4) not in format_rerank_input(AGENDA, profile)


def _build(pairs, index, layout):
    validation_pairs, validation_projects = toy_validation()
    return build_rerank_pairs(
        pairs,
        pairs.iloc[:0],
        validation_pairs,
        validation_projects,
        ROSTER,
        pairs,  # clean_matches: the project id is the time here
        index,
        layout,
        {"hard_negatives": 3, "random_negatives": 0},
    )


def test_training_examples_count_as_of_their_own_project(pairs, index):
    train, validation, report = _build(pairs, index, LAYOUT)
    assert report["candidate_activity"] == 2
    lines = {
        (p, e): next(x for x in text.splitlines() if x.startswith("Activity: "))
        for p, e, text in train[["project_id", "expert_id", "input"]].itertuples(
            index=False
        )
    }
    # The positive of 1003 (202's first project) does not count 1003 itself.
    assert lines["1003", "202"] == _line(0, 0)
    assert lines["1003", "101"] == _line(2, 2)
    assert lines["1007", "404"] == _line(0, 0)
    assert lines["1007", "202"] == _line(1, 3)  # 1005 is in the window
    assert set(validation["expert_id"]) == {"101", "202", "303", "404"}
    plain, _, report = _build(pairs, index, {**LAYOUT, "candidate_activity": 0})
    assert report["candidate_activity"] == 0
    assert not plain["input"].str.contains("Activity: ").any()


def test_inference_prompts_equal_the_training_layout(pairs, index):
    """A validation example's input is exactly the ranker's prompt for the same
    (agenda, candidate) as of the project's time; as of now the counts move."""
    _, validation, _ = _build(pairs, index, LAYOUT)
    settings = RecommenderSettings.from_params(LAYOUT)
    roster = Roster(ROSTER)
    ranker = build_ranker(settings, None, roster, retriever=index, train_pairs=pairs)
    experts = validation["expert_id"].tolist()
    [turns] = ranker.prompts.user_turns([AGENDA], [experts], np.array([1008.0]))
    assert turns == validation["input"].tolist()
    [now] = ranker.prompts.user_turns([AGENDA], [experts], None)
    assert now == turns  # 1008 is after every training project: the same as now
    [early] = ranker.prompts.user_turns([AGENDA], [experts], np.array([1004.0]))
    assert early != turns
    assert _line(1, 1) in early[experts.index("202")]


def _adapter(layout: dict) -> LoRAAdapterHandle:
    return LoRAAdapterHandle(
        path="/nowhere/lora_adapter",
        adapter_config={},
        base_model_name_or_path="/nowhere/base_model",
        training_info={"recommender": {"mode": "rerank", **layout}},
        version="2026-01-01T00.00.00.000Z",
    )


def test_an_adapter_trained_with_another_activity_window_is_refused():
    settings = RecommenderSettings.from_params({"candidate_activity": 50})
    with pytest.raises(AdapterMismatchError, match="candidate_activity=0"):
        check_adapter_layout(_adapter({"history_questions": 4}), settings)
    with pytest.raises(AdapterMismatchError, match="candidate_activity=20"):
        check_adapter_layout(_adapter({"candidate_activity": 20}), settings)
    check_adapter_layout(_adapter({"candidate_activity": 50}), settings)
    check_adapter_layout(_adapter({}), RecommenderSettings.from_params({}))


def test_a_negative_window_is_refused():
    with pytest.raises(ValueError, match="candidate_activity"):
        RecommenderSettings.from_params({"candidate_activity": -1})

"""Recent activity: bookings of the projects asked just before an agenda."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expert_kedro.pipelines.rerank_pairs.nodes import _candidate_ranker, _project_times
from expert_kedro.retrieval import (
    PRIOR_SYSTEM,
    RECENT_SYSTEM,
    CrossFittedScorer,
    RetrievalSettings,
    Timeline,
    build_expert_documents,
    fit_retrieval_index,
    load_index,
    retriever_times,
    save_index,
    top_k,
    tune_retrieval_index,
)
from expert_kedro.retrieval.timeline import project_times
from expert_kedro.training_data.settings import RerankPairsSettings

from .toy_roster import make_toy_roster, make_toy_train_pairs

ROSTER_IDS = [101, 202, 303, 404]
# make_toy_train_pairs: projects 1001-1007 answered by, in id (= time) order:
# 101, 101, 202, 202, 202, 303, 404.
VAGUE = ["Who can help us with our project?"]


def _timeline(time_from: str = "project_id") -> Timeline:
    pairs = make_toy_train_pairs()
    return Timeline.from_pairs(pairs, pairs, ROSTER_IDS, time_from)


def _index(recency: dict, prior_weight: float = 0.0, validation=None):
    settings = RetrievalSettings.from_params(
        {
            "hybrid": {"bm25_weight": 0.4},
            "prior": {"weight": prior_weight},
            "recency": recency,
        }
    )
    pairs = make_toy_train_pairs()
    timeline = (
        Timeline.from_pairs(pairs, pairs, ROSTER_IDS, settings.recency.time_from)
        if settings.recency.time_from
        else None
    )
    documents = build_expert_documents(make_toy_roster(), pairs, timeline=timeline)
    return tune_retrieval_index(fit_retrieval_index(documents, settings), validation)


def test_counts_only_the_window_of_projects_asked_before():
    timeline = _timeline()
    assert timeline.project_ids.tolist() == [str(p) for p in range(1001, 1008)]
    counts = timeline.counts(np.array([1003.0, 1006.5, np.nan, 1001.0]), 2, 4)
    assert counts.tolist() == [
        [2, 0, 0, 0],  # 1001, 1002: both 101
        [0, 1, 1, 0],  # 1005 (202), 1006 (303)
        [0, 0, 1, 1],  # no time: now, after 1006 (303) and 1007 (404)
        [0, 0, 0, 0],  # nothing was asked before the first project
    ]
    # A training project is scored as of its own time: it never counts itself.
    own = timeline.times_for(pd.DataFrame({"project_id": ["1003"]}))
    assert timeline.counts(own, 5, 1).tolist() == [[2, 0, 0, 0]]
    assert timeline.counts(None, 100, 1).tolist() == [[2, 3, 1, 1]]


def test_dates_order_projects_and_unusable_dates_are_counted(caplog):
    projects = pd.DataFrame(
        {
            "project_id": ["a", "b", "c", "d"],
            "created_at": ["2024-01-02", "", "not a date", "2024-01-01T10:00:00Z"],
        }
    )
    times = project_times(projects, "created_at")
    assert np.isnan(times[1]) and np.isnan(times[2])
    assert times[3] < times[0]
    # The id as the time: decimal ids are numbers, anything else unknown.
    assert np.isnan(project_times(projects, "project_id")).all()
    assert np.isnan(
        project_times(projects.drop(columns="created_at"), "created_at")
    ).all()

    pairs = pd.DataFrame(
        {"project_id": ["a", "b", "c", "d", "d"], "expert_id": [1, 1, 2, 2, 3]}
    )
    with caplog.at_level(logging.WARNING):
        timeline = Timeline.from_pairs(pairs, projects, [1, 2, 3], "created_at")
    assert "2 training project(s) have no usable created_at" in caplog.text
    assert timeline.project_ids.tolist() == ["d", "a"]
    assert timeline.counts(None, 10, 1).tolist() == [[1, 1, 1]]


def test_fused_recency_moves_the_candidate_stage_and_survives_a_save(tmp_path: Path):
    index = _index({"time_from": "project_id", "window": 2, "weight": 1.0})
    assert list(index.retrievers()) == [
        "popularity",
        "bm25",
        "dense",
        "hybrid",
        PRIOR_SYSTEM,
        RECENT_SYSTEM,
    ]
    projects = pd.DataFrame({"project_id": ["1003", "1006", "9999"]})
    times = retriever_times(index, projects)
    assert times.tolist() == [1003.0, 1006.0, 9999.0]
    scores = index.score_all([VAGUE] * 3, times)
    # All weight on recency: who answered the last two projects before each.
    ids, _ = top_k(scores, index.expert_ids, 1)
    assert ids[:, 0].tolist() == [101, 202, 303]
    save_index(index, tmp_path / "index")
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["fusion"]["recency_window"] == 2
    assert manifest["timeline"] == {
        "time_from": "project_id",
        "n_projects": 7,
        "n_bookings": 7,
    }
    loaded = load_index(tmp_path / "index")
    np.testing.assert_allclose(
        loaded.score_all([VAGUE] * 3, retriever_times(loaded, projects)), scores
    )
    recent = loaded.retrievers()[RECENT_SYSTEM]
    assert recent.score_all([VAGUE], np.array([1003.0])).tolist() == [[2, 0, 0, 0]]


def test_recency_is_tuned_on_validation_and_off_where_it_cannot_help():
    # Vague validation agendas answered by whoever answered the project before.
    validation = pd.DataFrame(
        {
            "project_id": ["1003", "1006", "1008"],
            "agenda": [VAGUE] * 3,
            "acceptable_expert_ids": [[101], [202], [404]],
        }
    )
    recency = {"time_from": "project_id", "window_grid": [1, 3]}
    index = _index(recency, validation=validation)
    record = index.tuning["recency"]
    assert record["source"] == "tuned on validation"
    assert (index.recency_window, index.recency_weight) == (1, record["weight"])
    assert index.recency_weight > 0
    assert {row["window"] for row in record["grid"]} == {1, 3}
    ranked, _ = top_k(
        index.score_all([VAGUE] * 3, retriever_times(index, validation)),
        index.expert_ids,
        1,
    )
    assert ranked[:, 0].tolist() == [101, 202, 404]

    # Answers unrelated to who was active: ties go to weight 0, the plain stage.
    unrelated = validation.assign(acceptable_expert_ids=[[303], [101], [202]])
    index = _index(recency, validation=unrelated)
    assert index.recency_weight == 0.0
    plain = index.retrievers()[PRIOR_SYSTEM]
    np.testing.assert_array_equal(
        plain.score_all([VAGUE], np.array([1003.0])), index.hybrid.score_all([VAGUE])
    )

    # No time source: no timeline, no baseline, the stage ignores times.
    off = _index({"time_from": None}, validation=validation)
    assert off.timeline is None and RECENT_SYSTEM not in off.retrievers()
    assert off.tuning["recency"]["source"] == "retrieval.recency.time_from is null"
    with pytest.raises(ValueError, match="retrieval.recency.time_from"):
        RetrievalSettings.from_params({"recency": {"time_from": "answered_at"}})


def test_rerank_pair_negatives_are_mined_as_of_each_project_time():
    index = _index({"time_from": "project_id", "window": 1, "weight": 1.0})
    negatives = RerankPairsSettings.from_params({"hard_negatives": 1})
    validation = pd.DataFrame(
        {"project_id": ["1008"], "agenda": [VAGUE], "acceptable_expert_ids": [[1]]}
    )
    rank = _candidate_ranker(
        CrossFittedScorer(index, {}), negatives, _project_times(index, validation)
    )
    top = [row[0] for row in rank([VAGUE] * 3, ["1003", "1006", "1008"])]
    # 1003: after 1002 (101); 1006: after 1005 (202); 1008: after 1007 (404).
    assert top == ["101", "202", "404"]

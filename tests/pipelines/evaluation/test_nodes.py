"""Evaluation nodes on small hand-made inputs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from expert_kedro.evaluation.rankings import RANKING_COLUMNS
from expert_kedro.evaluation.reporting import (
    compact_table,
    plot_comparison,
    render_results_table,
)
from expert_kedro.pipelines.evaluation.nodes import (
    build_hybrid_candidates,
    build_partial_test_projects,
    compute_evaluation_metrics,
    render_evaluation_table,
)

ROSTER = pd.DataFrame({"expert_id": [1, 2, 3, 4]})
TEST = pd.DataFrame(
    {
        "project_id": [10, 11, 12],
        "project_title": ["a", "b", "c"],
        "agenda": [["q1?", "q2?", "q3?", "q4?", "q5?"], ["r1?", "r2?"], list("abcdef")],
        "acceptable_expert_ids": [[1], [2], [3, 4]],
    }
)
VALIDATION = pd.DataFrame(
    {"project_id": [20], "agenda": [["v?"]], "acceptable_expert_ids": [[2]]}
)
PARAMS = {"seed": 1, "bootstrap": {"n_boot": 200, "confidence": 0.95}}
PARTIAL = {"seed": 5, "sizes": [3, 4], "min_questions": 4}
PARTIAL_GROUP = {"partial_agendas": PARTIAL | {"min_questions": 10}}


def _ranking(system, split, variant, lists):
    rows = [
        (system, split, variant, pid, rank, eid, -rank)
        for pid, ranked in lists.items()
        for rank, eid in enumerate(ranked, start=1)
    ]
    return pd.DataFrame(rows, columns=list(RANKING_COLUMNS))


def test_partial_test_projects_are_ordered_subsets_and_reproducible():
    partial = build_partial_test_projects(TEST, PARTIAL)
    # Project 11 has 2 questions: too short for a 3-4 question variant.
    assert partial["project_id"].tolist() == [10, 12]
    for full, part in zip(TEST.loc[[0, 2], "agenda"], partial["agenda"], strict=True):
        assert 3 <= len(part) <= 4
        assert [q for q in full if q in part] == list(part)
    assert partial["acceptable_expert_ids"].tolist() == [[1], [3, 4]]
    pd.testing.assert_frame_equal(partial, build_partial_test_projects(TEST, PARTIAL))
    # Seeded per project: dropping another project does not change a variant.
    alone = build_partial_test_projects(TEST.iloc[[2]], PARTIAL)
    assert alone["agenda"].iloc[0] == partial["agenda"].iloc[1]


def _metrics(*rankings, partial=None, params=PARAMS):
    partial = build_partial_test_projects(TEST, PARTIAL) if partial is None else partial
    return compute_evaluation_metrics(
        ROSTER,
        pd.DataFrame({"project_id": [1, 2, 3, 4, 5, 6]}),
        VALIDATION,
        TEST,
        partial,
        {"fusion": "zscore", "bm25_weight": 0.5},
        {"bm25": {"fit_seconds": 0.1}},
        params,
        *rankings,
    )


def test_metrics_of_perfect_wrong_and_extra_systems(caplog):
    perfect = _ranking("oracle", "test", "full", {10: [1, 2], 11: [2, 1], 12: [4, 3]})
    wrong = _ranking("wrong", "test", "full", {10: [4, 3, 2, 1], 11: [4, 3, 1, 2]})
    llm = _ranking("llm", "test", "partial", {10: [2, 1], 12: [1, 2, 3]})
    metrics = _metrics(perfect, wrong, llm)
    assert list(metrics["systems"]) == ["random", "oracle", "wrong", "llm"]
    oracle = metrics["systems"]["oracle"]["full"]
    assert {m: v["value"] for m, v in oracle.items()} == {
        "hit@1": 1.0,
        "hit@5": 1.0,
        "mrr": 1.0,
        "ndcg@5": 1.0,
        # evaluation.recall_at defaults to 5, 10, 20 and 50.
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@20": 1.0,
        "recall@50": 1.0,
    }
    # wrong: project 10 -> rank 4 (1/4), 11 -> rank 4 (1/4), 12 unranked (0).
    wrong_full = metrics["systems"]["wrong"]["full"]
    assert wrong_full["mrr"]["value"] == pytest.approx(1 / 6)
    assert wrong_full["ndcg@5"]["value"] == pytest.approx(2 / math.log2(5) / 3)
    assert wrong_full["hit@5"]["value"] == pytest.approx(2 / 3)
    assert metrics["unranked_projects"] == {"wrong/test/full": 1}
    assert "did not rank 1 of 3" in caplog.text
    llm_partial = metrics["systems"]["llm"]["partial"]
    assert llm_partial["mrr"]["value"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert "full" not in metrics["systems"]["llm"]
    random_hit = metrics["systems"]["random"]["full"]["hit@1"]["value"]
    assert random_hit == pytest.approx((1 / 4 + 1 / 4 + 2 / 4) / 3)
    assert metrics["validation"]["random"]["full"]["hit@1"]["value"] == pytest.approx(
        0.25
    )
    assert metrics["n_projects"] == {
        "train": 6,
        "validation": 1,
        "test": 3,
        "test_partial": 2,
    }
    assert metrics["split_fractions"]["train"] == pytest.approx(0.6)
    for entry in oracle.values():
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]


def test_metrics_reject_off_roster_recommendations_and_unknown_projects():
    bad = _ranking("llm", "test", "full", {10: [99]})
    with pytest.raises(ValueError, match="99.*not in the roster"):
        _metrics(bad)
    stray = _ranking("llm", "test", "full", {10: [1], 55: [2]})
    with pytest.raises(ValueError, match=r"1 project\(s\) that are not test/full"):
        _metrics(stray)


def test_unranked_projects_can_be_skipped_for_capped_systems():
    capped = _ranking("llm", "test", "full", {10: [1, 2]})
    as_miss = _metrics(capped)["systems"]["llm"]["full"]["hit@1"]["value"]
    skipped = _metrics(capped, params={**PARAMS, "unranked_projects": "skip"})
    assert as_miss == pytest.approx(1 / 3)
    assert skipped["systems"]["llm"]["full"]["hit@1"]["value"] == 1.0
    assert skipped["unranked_projects"] == {"llm/test/full": 2}
    with pytest.raises(ValueError, match="'miss' or 'skip'"):
        _metrics(capped, params={**PARAMS, "unranked_projects": "drop"})


def test_hybrid_candidates_are_the_top_k_candidate_stage_rows():
    """The reranker's candidates are the hybrid + prior ranking (the index's)."""
    rankings = pd.concat(
        [
            _ranking("hybrid", "test", "full", {10: [4, 2, 1, 3], 11: [1, 2, 4, 3]}),
            _ranking(
                "hybrid+prior", "test", "full", {10: [3, 1, 2, 4], 11: [2, 1, 4, 3]}
            ),
            _ranking("bm25", "test", "full", {10: [1, 2, 3, 4]}),
        ]
    )
    candidates = build_hybrid_candidates(rankings, {"k": 2})
    assert candidates["expert_id"].tolist() == [3, 1, 2, 1]
    assert set(candidates["system"]) == {"hybrid+prior"}


def test_hybrid_candidates_of_a_roster_smaller_than_k_are_the_roster(caplog):
    """K above the roster size (a small site): every roster expert, logged."""
    rankings = _ranking(
        "hybrid+prior", "test", "full", {10: [3, 1, 2, 4], 11: [2, 1, 4, 3]}
    )
    with caplog.at_level("WARNING"):
        candidates = build_hybrid_candidates(rankings, {"k": 20})
    assert candidates.equals(rankings.reset_index(drop=True))
    assert "exceeds the roster (4 experts)" in caplog.text


def test_hybrid_candidates_cut_by_ranking_depth_name_the_parameter():
    """Rankings cut below K by evaluation.ranking_depth: a clear error."""
    rankings = _ranking("hybrid+prior", "test", "full", {10: [3, 1], 11: [2, 4]})
    with pytest.raises(ValueError, match="evaluation.ranking_depth"):
        build_hybrid_candidates(rankings, {"k": 3})


def test_recall_at_k_of_a_hand_made_ranking():
    """recall@K: the share of a project's acceptable experts in the top K."""
    # Acceptable: 10 -> {1}, 11 -> {2}, 12 -> {3, 4}.
    partly = _ranking(
        "partly", "test", "full", {10: [2, 1, 3], 11: [2, 1], 12: [3, 1, 2, 4]}
    )
    metrics = _metrics(partly, params={**PARAMS, "recall_at": [1, 2, 4]})
    values = {m: v["value"] for m, v in metrics["systems"]["partly"]["full"].items()}
    # recall@1: 10 -> 0, 11 -> 1, 12 -> 1/2 (3 of {3, 4}).
    assert values["recall@1"] == pytest.approx((0 + 1 + 0.5) / 3)
    # recall@2: 10 -> 1, 11 -> 1, 12 -> 1/2 (4 is only at rank 4).
    assert values["recall@2"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert values["recall@4"] == 1.0
    assert "recall@5" not in values
    # hit@1 counts any acceptable expert: project 12's first expert is acceptable.
    assert values["hit@1"] == pytest.approx(2 / 3)
    # A uniformly random ranking of 4 experts holds each of them in its top K
    # with probability K / 4.
    random = metrics["systems"]["random"]["full"]
    assert [random[f"recall@{k}"]["value"] for k in (1, 2, 4)] == [0.25, 0.5, 1.0]
    recall = metrics["systems"]["partly"]["full"]["recall@1"]
    assert recall["ci_low"] <= recall["value"] <= recall["ci_high"]
    table = render_results_table(metrics).splitlines()
    assert table[0].endswith("| nDCG@5 | Recall@1 | Recall@2 | Recall@4 |")
    (row,) = [line for line in table if line.startswith("| partly | full |")]
    assert row.endswith("| 1.000 [1.000, 1.000] |")
    assert "recall@4" in compact_table(metrics).splitlines()[0]
    with pytest.raises(ValueError, match="evaluation.recall_at"):
        _metrics(partly, params={**PARAMS, "recall_at": [5, 5]})


def test_table_plot_and_log():
    metrics = _metrics(
        _ranking("oracle", "test", "full", {10: [1], 11: [2], 12: [3]}),
        params={**PARAMS, "recall_at": []},
    )
    table = render_results_table(metrics)
    lines = table.splitlines()
    assert lines[0] == "| System | Agenda | Hit@1 | Hit@5 | MRR | nDCG@5 |"
    assert lines[4].startswith("| oracle | full | 1.000 [1.000, 1.000] |")
    assert "3 projects (partial-agenda variants: 2)" in table
    assert "| random | full | 0.250 [0.250, 0.250] |" in render_results_table(
        metrics, "validation"
    )
    compact = compact_table(metrics)
    assert max(len(line) for line in compact.splitlines()) < 60
    figure = plot_comparison(metrics)
    assert isinstance(figure, Figure) and len(figure.axes) == 4
    assert render_evaluation_table(metrics) == table


def test_partial_variant_is_skipped_when_no_agenda_is_long_enough(caplog):
    # No test agenda has 10 questions: no partial variant, and the evaluation
    # reports the full agendas instead of failing on zero projects.
    partial = build_partial_test_projects(TEST, PARTIAL | {"min_questions": 10})
    assert partial.empty
    oracle = _ranking("oracle", "test", "full", {10: [1], 11: [2], 12: [3]})
    with caplog.at_level("WARNING"):
        metrics = _metrics(oracle, partial=partial, params={**PARAMS, **PARTIAL_GROUP})
    assert "partial-agenda variant is skipped" in caplog.text
    assert "min_questions=10" in caplog.text
    for system in ("random", "oracle"):
        assert list(metrics["systems"][system]) == ["full"]
    assert metrics["n_projects"]["test_partial"] == 0
    assert "| oracle | full |" in render_evaluation_table(metrics)
    assert isinstance(plot_comparison(metrics), Figure)


def test_partial_agendas_keep_their_seed_for_integer_looking_text_ids():
    as_text = TEST.assign(project_id=TEST["project_id"].astype(str))
    by_text = build_partial_test_projects(as_text, PARTIAL)
    by_int = build_partial_test_projects(TEST, PARTIAL)
    assert by_text["agenda"].tolist() == by_int["agenda"].tolist()
    opaque = build_partial_test_projects(
        TEST.assign(project_id=["P-10", "P-11", "P-12"]), PARTIAL
    )
    assert opaque["project_id"].tolist() == ["P-10", "P-12"]
    pd.testing.assert_frame_equal(
        opaque,
        build_partial_test_projects(
            TEST.assign(project_id=["P-10", "P-11", "P-12"]), PARTIAL
        ),
    )

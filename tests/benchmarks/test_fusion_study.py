"""benchmarks/fusion_study.py: saved rankings taken apart, fusions at their edges
(the stage, the LLM alone) and the tuning's tie rule, on hand-made rankings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.benchmarks.modules import benchmark_module

CANDIDATES = ["e1", "e2", "e3", "e4"]  # retrieval order
TAIL = ["e5", "e6"]
RETRIEVAL = [4.0, 3.0, 2.0, 1.0]
LLM = [0.0, 1.0, 2.0, 3.0]  # the LLM reverses the stage
LLM_ORDER = ["e4", "e3", "e2", "e1"]


@pytest.fixture(scope="module")
def study():
    return benchmark_module("fusion_study")


def rows(split: str, project: str, llm=LLM, system: str = "llm_rerank"):
    """One project's rankings rows, saved in the LLM's order (as at weight 0)."""
    scores = dict(zip(CANDIDATES, zip(RETRIEVAL, llm, strict=True), strict=True))
    order = [e for _, e in sorted(zip(llm, CANDIDATES), reverse=True)] + TAIL
    nan = (float("nan"), float("nan"))
    return pd.DataFrame(
        [
            {
                "system": system,
                "split": split,
                "variant": "full",
                "project_id": project,
                "rank": rank,
                "expert_id": expert,
                "score": -float(rank),
                "retrieval_score": scores.get(expert, nan)[0],
                "llm_score": scores.get(expert, nan)[1],
            }
            for rank, expert in enumerate(order, start=1)
        ]
    )


def rankings(system: str = "llm_rerank", llm=LLM) -> pd.DataFrame:
    """Validation 101, 102 and test 201, plus a partial-agenda copy of 201."""
    frames = [
        rows("validation", "101", llm, system),
        rows("validation", "102", llm, system),
        rows("test", "201", llm, system),
    ]
    partial = rows("test", "201", llm, system).assign(variant="partial")
    return pd.concat([*frames, partial], ignore_index=True)


def acceptable(validation: str = "e4", test: str = "e1") -> dict:
    """The LLM is right on validation (``e4``), the stage on test (``e1``)."""
    return {
        "validation": {"102": [validation], "101": [validation], "999": ["e1"]},
        "test": {"201": [test]},
    }


@pytest.fixture()
def projects(study):
    full = study.full_rankings(rankings(), "llm")
    return study.reconstruct(full, acceptable())


def order(study, project, scorer) -> list[str]:
    return study.ranked([project], scorer)[0]


def test_reconstruction_finds_candidates_tail_and_saved_order(study, projects):
    assert [len(projects[s]) for s in ("validation", "test")] == [2, 1]
    project = projects["validation"][0]  # the split table's order: 102 first
    assert project.acceptable == ["e4"]
    assert project.candidates == CANDIDATES
    np.testing.assert_array_equal(project.retrieval, RETRIEVAL)
    np.testing.assert_array_equal(project.llm, LLM)
    assert project.tail == TAIL
    assert project.saved == LLM_ORDER + TAIL
    assert project.cross is None
    # The partial-agenda copy of 201 is left out.
    assert projects["test"][0].saved == LLM_ORDER + TAIL


def test_a_project_of_another_split_is_refused(study):
    full = study.full_rankings(rankings(), "llm")
    wrong = {"validation": acceptable()["validation"], "test": {"301": ["e1"]}}
    with pytest.raises(ValueError, match="not this site's test projects"):
        study.reconstruct(full, wrong)


def test_z_linear_edges_are_the_stage_and_the_llm(study, projects):
    project = projects["test"][0]
    assert order(study, project, study.z_linear(1.0)) == CANDIDATES + TAIL
    assert order(study, project, study.z_linear(0.0)) == LLM_ORDER + TAIL


def test_rrf_without_the_llm_is_the_stage(study, projects):
    project = projects["test"][0]
    for k in study.RRF_KS:
        assert order(study, project, study.rrf(k, 0.0)) == CANDIDATES + TAIL
    assert order(study, project, study.rrf(60, 1.0))[:4] != CANDIDATES


def test_tuning_keeps_the_stage_on_ties(study, projects):
    tied = [replace(p, acceptable=["e6"]) for p in projects["test"]]  # tail: ties
    for options in study.families(three=False).values():
        assert study.tune(options, tied) == 0
        assert options[0][0] in {"w=1.0", "w=1.00", "k=10, a=0.0"}


def test_tuning_follows_the_llm_when_it_is_plainly_right(study, projects):
    options = study.families(three=False)["z-linear 0.1"]
    best = study.tune(options, projects["validation"])
    assert options[best][0] == "w=0.4"  # the first weight where the LLM leads


def test_today_rule_reproduces_the_saved_ranks(study, projects):
    result = study.reproduction(projects)
    assert result["reproduced"]
    assert result["same_as_saved"] == {"validation": "2/2", "test": "1/1"}


def test_other_saved_ranks_are_not_reproduced(study):
    """Stage right on validation: weights 0.5..1 tie and today's rule takes 0.5 (the
    retriever's order), not the LLM order the file holds."""
    full = study.full_rankings(rankings(), "llm")
    result = study.reproduction(study.reconstruct(full, acceptable(validation="e1")))
    assert result["pipeline_weight"] == 0.5
    assert not result["reproduced"]


def test_study_rows_and_report(study, projects):
    rows_ = study.study(projects)
    names = [row["fusion"] for row in rows_]
    assert names[:2] == ["stage alone", "LLM alone"]
    assert "three-way" not in names
    stage = rows_[0]
    assert stage["test_mrr_gain"] == 0.0 and stage["test_mrr_gain_ci"] == [0.0, 0.0]
    assert rows_[1]["test"]["mrr"] == pytest.approx(0.25)
    results = {
        **{"date": "d", "machine": "m", "command": "c", "site": "s"},
        **{"systems": ["llm_rerank"], "n": {"validation": 2, "test": 1}},
        **{"reproduction": study.reproduction(projects), "rows": rows_},
    }
    text = study.report(results)
    assert "| stage alone | w=1.0 |" in text and ": reproduced." in text


def test_three_way_grid_starts_at_the_stage(study):
    assert study.SIMPLEX[0] == (1.0, 0.0, 0.0)
    assert len(study.SIMPLEX) == 66 == len(set(study.SIMPLEX))
    assert all(abs(sum(w) - 1.0) < 1e-9 for w in study.SIMPLEX)
    assert study.families(three=True)["three-way"][0][0] == "(1.0, 0.0, 0.0)"


def test_three_way_joins_the_cross_encoder_on_one_stage(study):
    llm = study.full_rankings(rankings(), "llm")
    cross_scores = [5.0, 0.0, 1.0, 2.0]
    cross = study.full_rankings(rankings("cross_encoder", cross_scores), "cross")
    projects = study.reconstruct(study.with_cross_encoder(llm, cross), acceptable())
    project = projects["test"][0]
    np.testing.assert_array_equal(project.cross, cross_scores)
    stage = study.three_way((1.0, 0.0, 0.0))
    assert order(study, project, stage) == CANDIDATES + TAIL
    assert "three-way" in [row["fusion"] for row in study.study(projects)]
    moved = cross.assign(retrieval_score=cross["retrieval_score"] + 1.0)
    with pytest.raises(ValueError, match="not one stage"):
        study.with_cross_encoder(llm, moved)

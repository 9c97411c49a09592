"""The evaluation's LLM system node on the tiny trained adapter (capped projects)."""

from __future__ import annotations

from expert_kedro.evaluation.rankings import (
    RANKING_COLUMNS,
    validate_rankings,
)
from expert_kedro.pipelines.evaluation_llm.nodes import rank_llm_projects
from expert_kedro.retrieval import BM25Retriever, build_expert_documents
from tests.llm_fixtures import TEST_RECOMMENDER, _session


def _system_inputs(catalog) -> tuple:
    """The LLM systems' shared node inputs; the test projects stand in for the
    partial agendas."""
    roster = catalog.load("expert_roster")
    train_pairs = catalog.load("train_pairs")
    test_projects = catalog.load("test_projects")
    return (
        BM25Retriever().fit(build_expert_documents(roster, train_pairs)),
        catalog.load("validation_projects"),
        test_projects,
        test_projects,
        roster,
        train_pairs,
        catalog.load("base_model"),
    )


def test_rerank_rankings_cover_the_roster_and_report_the_tuned_weight(
    trained_project,
):
    with _session(trained_project.path) as session:
        context = session.load_context()
        catalog = context.catalog
        inputs = _system_inputs(catalog)
        roster = inputs[4]
        rankings, report = rank_llm_projects(
            *inputs,
            catalog.load("lora_adapter"),
            {**TEST_RECOMMENDER, "max_eval_projects": 2, "weight_grid": [0.0, 0.5]},
            context.params["pairs"],
        )
    assert tuple(rankings.columns) == RANKING_COLUMNS
    validate_rankings(rankings, roster["expert_id"])
    per_project = rankings.groupby(["split", "variant", "project_id"]).size()
    assert len(per_project) == 6  # 2 projects x (validation, test full, test partial)
    assert (per_project == len(roster)).all()  # whole roster: exact MRR
    assert set(rankings["system"]) == {"llm_rerank"}
    assert report["tuned_retrieval_weight"] in {0.0, 0.5}
    assert [row["retrieval_weight"] for row in report["grid"]] == [0.0, 0.5]


def test_zero_shot_base_model_is_ranked_without_the_adapter(trained_project):
    """The zero-shot baseline: same design, grounding and projects, no adapter."""
    from expert_kedro.pipelines.evaluation_llm.nodes import rank_zero_shot_projects

    with _session(trained_project.path) as session:
        context = session.load_context()
        catalog = context.catalog
        inputs = _system_inputs(catalog)
        roster = inputs[4]
        params = {**TEST_RECOMMENDER, "max_eval_projects": 2, "weight_grid": [0.0]}
        rankings, report = rank_zero_shot_projects(
            *inputs,
            {**params, "zero_shot_designs": ["rerank"]},
            context.params["pairs"],
        )
        empty, no_report = rank_zero_shot_projects(
            *inputs, {**params, "zero_shot_designs": []}, context.params["pairs"]
        )
        fine_tuned, _ = rank_llm_projects(
            *inputs, catalog.load("lora_adapter"), params, context.params["pairs"]
        )
    validate_rankings(rankings, roster["expert_id"])
    assert set(rankings["system"]) == {"zero_shot_rerank"}
    assert list(report) == ["zero_shot_rerank"]
    assert report["zero_shot_rerank"]["tuned_retrieval_weight"] == 0.0
    # LLM-only fusion (weight 0): the adapter changes the order of the candidates.
    key = ["split", "variant", "project_id", "rank"]
    merged = rankings.merge(fine_tuned, on=key, suffixes=("_zero", "_tuned"))
    assert len(merged) == len(rankings)
    assert not (merged["score_zero"] == merged["score_tuned"]).all()
    assert empty.empty and tuple(empty.columns) == RANKING_COLUMNS and not no_report

"""The evaluation's LLM system nodes on the tiny trained adapter (capped projects)."""

from __future__ import annotations

import pytest

from expert_kedro.evaluation.rankings import (
    RANKING_COLUMNS,
    validate_rankings,
)
from expert_kedro.pipelines.evaluation_llm.nodes import (
    rank_llm_projects,
    rank_zero_shot_projects,
)
from expert_kedro.recommender.fusion import fuse
from expert_kedro.recommender.rerank_tuning import RerankTuning
from tests.llm_fixtures import TEST_RECOMMENDER, _session

CANDIDATE_SIGNALS = ("retrieval_score", "llm_score")


def _system_inputs(catalog) -> tuple:
    """The LLM systems' shared node inputs; the test projects stand in for the
    partial agendas."""
    test_projects = catalog.load("test_projects")
    return (
        catalog.load("retrieval_index"),
        catalog.load("validation_projects"),
        test_projects,
        test_projects,
        catalog.load("expert_roster"),
        catalog.load("train_pairs"),
        catalog.load("base_model"),
    )


def test_rerank_rankings_cover_the_roster_and_record_the_tuned_weight(
    trained_project,
):
    with _session(trained_project.path) as session:
        context = session.load_context()
        catalog = context.catalog
        inputs = _system_inputs(catalog)
        adapter = catalog.load("lora_adapter")
        rankings, report, tuning = rank_llm_projects(
            *inputs,
            adapter,
            {**TEST_RECOMMENDER, "max_eval_projects": 2, "weight_grid": [0.0, 0.5]},
            context.params["pairs"],
        )
    roster = inputs[4]
    assert tuple(rankings.columns) == (*RANKING_COLUMNS, *CANDIDATE_SIGNALS)
    validate_rankings(rankings, roster["expert_id"])
    # The two signals of each project's K candidates are saved (NaN beyond), and
    # fusing them again at the tuned weight gives the saved scores.
    candidates = rankings.dropna(subset=list(CANDIDATE_SIGNALS))
    k = TEST_RECOMMENDER["candidates"]
    assert (candidates.groupby(["split", "variant", "project_id"]).size() == k).all()
    assert candidates["rank"].max() == k  # the candidates rank first
    for _, block in candidates.groupby(["split", "variant", "project_id"]):
        fused_again = fuse(
            block["retrieval_score"].to_numpy(),
            block["llm_score"].to_numpy(),
            report["tuned_retrieval_weight"],
        )
        assert fused_again == pytest.approx(block["score"].to_numpy())
    per_project = rankings.groupby(["split", "variant", "project_id"]).size()
    assert len(per_project) == 6  # 2 projects x (validation, test full, test partial)
    assert (per_project == len(roster)).all()  # whole roster: exact MRR
    assert set(rankings["system"]) == {"llm_rerank"}
    assert report["tuned_retrieval_weight"] in {0.0, 0.5}
    assert [row["retrieval_weight"] for row in report["grid"]] == [0.0, 0.5]
    # What inference reads: the tuned weight, for this adapter version and K.
    record = RerankTuning.from_record(tuning)
    assert record.retrieval_weight == report["tuned_retrieval_weight"]
    assert record.adapter_version == trained_project.adapter_version
    assert record.candidates == TEST_RECOMMENDER["candidates"]
    assert record.retrieval_index == inputs[0].fingerprint
    assert record.n_validation_projects == 2
    assert record.fits(adapter)


def test_zero_shot_base_model_is_ranked_without_the_adapter(trained_project):
    """The zero-shot baseline: same design, grounding and projects, no adapter."""
    with _session(trained_project.path) as session:
        context = session.load_context()
        catalog = context.catalog
        inputs = _system_inputs(catalog)
        params = {**TEST_RECOMMENDER, "max_eval_projects": 2, "weight_grid": [0.0]}
        rankings, report = rank_zero_shot_projects(
            *inputs,
            {**params, "zero_shot_designs": ["rerank"]},
            context.params["pairs"],
        )
        empty, no_report = rank_zero_shot_projects(
            *inputs, {**params, "zero_shot_designs": []}, context.params["pairs"]
        )
        fine_tuned, _, _ = rank_llm_projects(
            *inputs, catalog.load("lora_adapter"), params, context.params["pairs"]
        )
    validate_rankings(rankings, inputs[4]["expert_id"])
    assert set(rankings["system"]) == {"zero_shot_rerank"}
    assert list(report) == ["zero_shot_rerank"]
    assert report["zero_shot_rerank"]["tuned_retrieval_weight"] == 0.0
    # LLM-only fusion (weight 0): the adapter changes the order of the candidates.
    key = ["split", "variant", "project_id", "rank"]
    merged = rankings.merge(fine_tuned, on=key, suffixes=("_zero", "_tuned"))
    assert len(merged) == len(rankings)
    assert not (merged["score_zero"] == merged["score_tuned"]).all()
    assert empty.empty and tuple(empty.columns) == RANKING_COLUMNS and not no_report


def test_ranker_weight_is_never_changed_in_place(trained_project):
    """Tuning ranks at every grid weight through copies: the ranker built from the
    settings keeps its weight, so nothing downstream inherits a tuned value."""
    from expert_kedro.recommender.adapters import load_scorer
    from expert_kedro.recommender.grounding import Roster
    from expert_kedro.recommender.service import build_ranker
    from expert_kedro.recommender.settings import RecommenderSettings

    with _session(trained_project.path) as session:
        catalog = session.load_context().catalog
        settings = RecommenderSettings.from_params(
            {**TEST_RECOMMENDER, "retrieval_weight": 0.3}
        )
        validation = catalog.load("validation_projects").head(2)
        ranker = build_ranker(
            settings,
            load_scorer(
                catalog.load("base_model"), catalog.load("lora_adapter"), settings
            ),
            Roster(catalog.load("expert_roster")),
            retriever=catalog.load("retrieval_index"),
            train_pairs=catalog.load("train_pairs"),
        )
    scored = ranker.score_candidates(
        [list(a) for a in validation["agenda"]], list(validation["project_id"])
    )
    weight, _ = ranker.tune_weight(
        scored, list(validation["acceptable_expert_ids"]), [0.0, 1.0]
    )
    assert ranker.retrieval_weight == 0.3
    tuned = ranker.with_weight(weight)
    assert tuned.retrieval_weight == weight and tuned.scorer is ranker.scorer
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ranker.with_weight(1.5)
    # rank_many_with_scores (inference) is rank_scored over score_candidates.
    agendas = [list(a) for a in validation["agenda"]]
    assert ranker.rank_many_with_scores(
        agendas, 3, list(validation["project_id"])
    ) == ranker.rank_scored(scored, 3)

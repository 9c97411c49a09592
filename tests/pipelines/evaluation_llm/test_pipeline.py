"""``kedro run --pipeline=evaluation_llm`` end to end, on the tiny trained adapter.

A copy of the trained project runs the whole registered pipeline through a
``KedroSession`` (baselines, the fine-tuned reranker, the zero-shot base and the
cross-encoder peer, the metrics, plot and table) with the smallest settings: two
projects per split for the reranking systems (``evaluation.unranked_projects:
skip``), a two-point weight grid and a small bootstrap.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from expert_kedro.evaluation.rankings import RANKING_COLUMNS
from tests.llm_fixtures import _session
from tests.planted_tokens import files_holding_tokens, planted_tokens

BASELINES = {
    "random",
    "popularity",
    "bm25",
    "dense",
    "hybrid",
    "hybrid+prior",
    "recent_activity",
}
LLM_SYSTEMS = {"llm_rerank", "zero_shot_rerank"}
# The cross-encoder peer, trained by the pipeline on the tiny adapter's pairs.
RERANKERS = {*LLM_SYSTEMS, "cross_encoder"}
METRICS = {"hit@1", "hit@5", "mrr", "ndcg@5"}
RUNTIME = {
    "recommender": {
        "max_eval_projects": 2,
        "weight_grid": [0.0, 1.0],
        "zero_shot_designs": ["rerank"],
    },
    "evaluation": {"unranked_projects": "skip", "bootstrap": {"n_boot": 50}},
    "cross_encoder": {"batch_size": 4, "max_length": 128},
}


def _copy_models_linked(source: str, destination: str) -> None:
    """Hard-link the (never rewritten) model files, copy everything else."""
    if f"{os.sep}06_models{os.sep}" in source:
        os.link(source, destination)
    else:
        shutil.copy2(source, destination)


def _latest(project: Path, relative: str) -> Path:
    name = Path(relative).name
    return sorted((project / "data" / relative).glob(f"*/{name}"))[-1]


@pytest.fixture(scope="module")
def evaluated_project(trained_project, tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("evaluation_llm") / "project"
    shutil.copytree(trained_project.path, project, copy_function=_copy_models_linked)
    with planted_tokens(project) as messages, _session(project, RUNTIME) as session:
        session.run(pipeline_names=["evaluation_llm"])
    (project / "run_log.txt").write_text("\n".join(messages), encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def catalog(evaluated_project: Path):
    with _session(evaluated_project, RUNTIME) as session:
        yield session.load_context().catalog


def test_metrics_report_every_system_on_the_test_split(catalog):
    metrics = catalog.load("evaluation_metrics")
    assert set(metrics["systems"]) == BASELINES | RERANKERS
    for system, variants in metrics["systems"].items():
        assert set(variants) == {"full", "partial"}, system
        for variant in variants.values():
            assert set(variant) >= METRICS, system
            for value in (variant[m] for m in METRICS):
                assert 0 <= value["ci_low"] <= value["ci_high"] <= 1, system
                assert 0 <= value["value"] <= 1, system
    assert set(metrics["validation"]) == BASELINES | RERANKERS
    test_projects = catalog.load("test_projects")
    assert metrics["n_projects"]["test"] == len(test_projects)
    assert metrics["unranked_policy"] == "skip"
    table = catalog.load("evaluation_results_table")
    assert all(system in table for system in RERANKERS)


def test_llm_systems_rank_the_evaluation_split_with_roster_experts_only(catalog):
    """The same test and validation projects as the baselines, and only roster
    experts (the whole roster per project, so MRR is exact)."""
    roster = set(map(str, catalog.load("expert_roster")["expert_id"]))
    splits = {
        ("test", "full"): set(map(str, catalog.load("test_projects")["project_id"])),
        ("test", "partial"): set(
            map(str, catalog.load("partial_test_projects")["project_id"])
        ),
        ("validation", "full"): set(
            map(str, catalog.load("validation_projects")["project_id"])
        ),
    }
    baselines = catalog.load("baseline_rankings")
    rankings = pd.concat(
        [
            catalog.load("llm_rankings"),
            catalog.load("zero_shot_rankings"),
            catalog.load("cross_encoder_rankings"),
        ],
        ignore_index=True,
    )
    # Rerank systems also save the two signals their fusion combined.
    assert tuple(rankings.columns) == (*RANKING_COLUMNS, "retrieval_score", "llm_score")
    assert set(rankings["system"]) == RERANKERS
    assert set(map(str, rankings["expert_id"])) <= roster
    for (split, variant), projects in splits.items():
        for frame in (baselines, rankings):
            part = frame[(frame["split"] == split) & (frame["variant"] == variant)]
            ranked = set(map(str, part["project_id"]))
            assert ranked <= projects, (split, variant)
        base = baselines[
            (baselines["split"] == split) & (baselines["variant"] == variant)
        ]
        assert set(map(str, base["project_id"])) == projects
        for system in RERANKERS:
            own = rankings[
                (rankings["system"] == system)
                & (rankings["split"] == split)
                & (rankings["variant"] == variant)
            ]
            per_project = own.groupby("project_id")["expert_id"]
            assert own["project_id"].nunique() == 2, (system, split, variant)
            assert (per_project.nunique() == len(roster)).all(), system


def test_tuned_weight_is_saved_for_the_evaluated_adapter(catalog, trained_project):
    tuning = catalog.load("rerank_tuning")
    assert tuning["adapter_version"] == trained_project.adapter_version
    assert tuning["retrieval_weight"] in RUNTIME["recommender"]["weight_grid"]
    assert tuning["retrieval_index"] == catalog.load("retrieval_index").fingerprint


def test_no_token_in_the_evaluation_outputs_or_log(evaluated_project: Path):
    """Run with ``HF_TOKEN`` and a credentials file set: neither token is in a file
    under ``data/`` (the adapter and base model included) or a log message."""
    assert files_holding_tokens(evaluated_project / "data") == []
    log = evaluated_project / "run_log.txt"
    assert files_holding_tokens(log) == []
    assert "llm_rerank" in log.read_text()


def test_cross_encoder_is_tuned_on_validation_like_the_llm(catalog):
    """Trained on the adapter's own pairs, its fusion weight tuned on the grid."""
    report = catalog.load("cross_encoder_report")
    assert report["system"] == "cross_encoder"
    assert report["tuned_retrieval_weight"] in RUNTIME["recommender"]["weight_grid"]
    assert report["n_validation_projects"] == 2
    assert report["training"]["train_pairs"] == len(catalog.load("rerank_train_pairs"))
    assert catalog.load("cross_encoder").record["steps"] >= 1

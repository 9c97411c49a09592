"""The inference pipeline through a KedroSession, and agenda validation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expert_kedro.pipeline_registry import register_pipelines
from expert_kedro.pipelines.inference.nodes import parse_new_agendas
from tests.llm_fixtures import TEST_RECOMMENDER, _session

# The public column contract of recommendations.csv, written out literally (README,
# "Ask for recommendations"): renaming or reordering a column in the code must fail
# here rather than silently change what downstream readers get.
RECOMMENDATIONS_CSV_COLUMNS = (
    "case_id",
    "rank",
    "expert_id",
    "expert_name",
    "score",
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
    "expert_skills",
)


def _latest_json(project: Path, name: str) -> dict:
    folder = project / "data" / "08_reporting" / name
    return json.loads(sorted(folder.glob(f"*/{name}"))[-1].read_text())


def test_inference_reads_the_saved_index_and_fits_nothing():
    """Inference loads the retrieval index and the tuned weight; it no longer reads
    what fitting a retriever needed (held-out projects, answers, evaluation
    parameters)."""
    inference = register_pipelines()["inference"]
    inputs = inference.inputs()
    assert {"retrieval_index", "rerank_tuning", "lora_adapter"} <= inputs
    assert not {"validation_projects", "clean_matches", "params:evaluation"} & inputs
    assert not [n.name for n in inference.nodes if n.name.startswith(("fit_", "tune_"))]


def test_inference_pipeline_writes_the_public_contract(trained_project):
    project = trained_project.path
    with _session(project) as session:
        session.run(pipeline_names=["inference"])
    out = project / "data" / "07_model_output" / "recommendations.csv"
    versions = sorted(out.iterdir())
    assert len(versions) == 1
    table = pd.read_csv(versions[0] / "recommendations.csv")
    assert tuple(table.columns) == RECOMMENDATIONS_CSV_COLUMNS
    cases = pd.read_csv(project / "data" / "01_raw" / "new_agendas.csv")["case_id"]
    k = TEST_RECOMMENDER["top_k"]
    assert len(table) == k * len(cases)
    roster = pd.read_csv(project / "data" / "01_raw" / "experts.csv")
    names = dict(zip(roster["expert_id"], roster["expert_name"], strict=True))
    for case_id, group in table.groupby("case_id"):
        assert group["rank"].tolist() == list(range(1, k + 1))
        assert group["expert_id"].is_unique
        assert group["score"].is_monotonic_decreasing
        for expert_id, name in group[["expert_id", "expert_name"]].itertuples(
            index=False
        ):
            assert names[expert_id] == name, case_id
    metrics_dir = project / "data" / "08_reporting" / "inference_metrics.json"
    metrics = json.loads(next(metrics_dir.glob("*/inference_metrics.json")).read_text())
    assert metrics["n_agendas"] == len(cases)
    assert 0 < metrics["latency_p50_s"] <= metrics["latency_p95_s"]
    assert metrics["mode"] == "rerank"
    # No evaluation_llm run yet: no rerank_tuning, the fallback weight is used.
    assert not (project / "data" / "06_models" / "rerank_tuning.json").exists()
    assert metrics["retrieval_weight_source"] == "fallback"
    assert metrics["retrieval_weight"] == TEST_RECOMMENDER["fallback_retrieval_weight"]


def _copy_models_linked(source: str, destination: str) -> None:
    """Hard-link the (never rewritten) model files, copy everything else."""
    if f"{os.sep}06_models{os.sep}" in source:
        os.link(source, destination)
    else:
        shutil.copy2(source, destination)


@pytest.fixture(scope="module")
def tuned_project(trained_project, tmp_path_factory) -> Path:
    """A copy of the trained project in which ``evaluation_llm``'s fine-tuned system
    ran on 3 projects per split, so ``rerank_tuning`` exists for the adapter."""
    project = tmp_path_factory.mktemp("tuned") / "project"
    shutil.copytree(trained_project.path, project, copy_function=_copy_models_linked)
    runtime = {"recommender": {"max_eval_projects": 3, "weight_grid": [0.0, 0.5, 1.0]}}
    with _session(project, runtime) as session:
        session.run(
            pipeline_names=["evaluation_llm"],
            node_names=[
                "build_partial_test_projects_node",
                "check_retrieval_index_node",
                "rank_llm_projects_node",
            ],
        )
    return project


def test_evaluation_and_inference_rank_the_same_agendas_identically(tuned_project):
    """For one adapter, the rankings evaluation_llm reports and the rankings the
    inference pipeline returns for the same agendas are the same experts with the
    same scores: inference reads the weight evaluation tuned (rerank_tuning) and
    both rank through RerankRanker."""
    project = tuned_project
    tuning = _latest_json(project, "llm_rerank_tuning.json")
    llm = pd.read_parquet(
        sorted((project / "data/07_model_output/llm_rankings.parquet").glob("*/*"))[-1]
    )
    test = llm[(llm["split"] == "test") & (llm["variant"] == "full")]
    projects = pd.read_parquet(
        sorted((project / "data/03_primary/test_projects.parquet").glob("*/*"))[-1]
    ).set_index("project_id")
    ids = sorted(test["project_id"].unique())
    assert len(ids) == 3
    pd.DataFrame(
        {
            "case_id": [str(pid) for pid in ids],
            "agenda": [json.dumps(list(projects.loc[pid, "agenda"])) for pid in ids],
        }
    ).to_csv(project / "data" / "01_raw" / "new_agendas.csv", index=False)
    k = 8
    with _session(project, {"recommender": {"top_k": k}}) as session:
        session.run(pipeline_names=["inference"])
    metrics = _latest_json(project, "inference_metrics.json")
    assert metrics["retrieval_weight_source"] == "rerank_tuning"
    assert metrics["retrieval_weight"] == tuning["tuned_retrieval_weight"]
    out = project / "data" / "07_model_output" / "recommendations.csv"
    served = pd.read_csv(
        sorted(out.glob("*/recommendations.csv"))[-1],
        dtype={"case_id": str, "expert_id": str},
    )
    for pid in ids:
        evaluated = test[test["project_id"] == pid].sort_values("rank").head(k)
        got = served[served["case_id"] == pid].sort_values("rank")
        assert got["expert_id"].tolist() == evaluated["expert_id"].tolist(), pid
        np.testing.assert_allclose(
            got["score"].to_numpy(), evaluated["score"].to_numpy(), rtol=1e-9
        )


def test_a_second_inference_run_keeps_the_first_version(tuned_project):
    """``recommendations`` is versioned and never overwritten: another run adds a
    version and leaves every earlier file byte-identical."""
    out = tuned_project / "data" / "07_model_output" / "recommendations.csv"

    def saved() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in sorted(out.glob("*/recommendations.csv"))}

    if not saved():  # one version before the run under test
        with _session(tuned_project) as session:
            session.run(pipeline_names=["inference"])
    before = saved()
    with _session(tuned_project) as session:
        session.run(pipeline_names=["inference"])
    after = saved()
    assert len(after) == len(before) + 1
    assert {path: after[path] for path in before} == before
    (new,) = set(after) - set(before)
    assert new.parent.name > max(p.parent.name for p in before)
    assert tuple(pd.read_csv(new).columns) == RECOMMENDATIONS_CSV_COLUMNS


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("[]", "empty list"),
        ('{"q": "What?"}', "not a list"),
        ("", "empty"),
        ('["Where is the market going?"', "truncated"),
    ],
)
def test_bad_agendas_name_the_case(cell, message):
    table = pd.DataFrame({"case_id": ["ok", "bad-7"], "agenda": ['["Fine?"]', cell]})
    with pytest.raises(ValueError, match=message) as error:
        parse_new_agendas(table)
    assert "bad-7" in str(error.value)


def test_tolerant_parsing_and_duplicate_cases():
    parsed = parse_new_agendas(
        pd.DataFrame({"case_id": ["a"], "agenda": ["['Pricing &amp; share?',]"]})
    )
    assert parsed["agenda"].iloc[0] == ["Pricing & share?"]
    with pytest.raises(ValueError, match="repeats case_id"):
        parse_new_agendas(
            pd.DataFrame({"case_id": ["a", "a"], "agenda": ['["Q?"]'] * 2})
        )

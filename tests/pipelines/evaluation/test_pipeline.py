"""The evaluation pipeline through a real KedroSession on the shipped data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.pipelines.evaluation import create_pipeline
from tests.conftest import copy_project

SYSTEMS = ["random", "popularity", "bm25", "dense", "hybrid"]


@pytest.fixture(scope="module")
def evaluated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run data_processing + evaluation once in a copy of the project."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    project = copy_project(tmp_path_factory.mktemp("evaluation") / "project")
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project,
        runtime_params={"evaluation": {"bootstrap": {"n_boot": 300}}},
    ) as session:
        session.run(pipeline_names=["data_processing", "evaluation"])
    return project


def _latest(project: Path, relative: str) -> Path:
    name = Path(relative).name
    versions = sorted((project / relative).glob(f"*/{name}"))
    assert len(versions) == 1, relative
    return versions[0]


def test_metrics_report_is_complete_and_sane(evaluated_project: Path):
    metrics = json.loads(
        _latest(
            evaluated_project, "data/08_reporting/evaluation_metrics.json"
        ).read_text()
    )
    assert list(metrics["systems"]) == SYSTEMS
    assert list(metrics["validation"]) == SYSTEMS
    test_projects = pd.read_parquet(
        _latest(evaluated_project, "data/03_primary/test_projects.parquet")
    )
    assert metrics["n_projects"]["test"] == len(test_projects)
    assert 0 < metrics["n_projects"]["test_partial"] <= len(test_projects)
    assert sum(metrics["split_fractions"].values()) == pytest.approx(1.0, abs=1e-3)
    assert metrics["bootstrap"]["n_boot"] == 300
    assert metrics["unranked_projects"] == {}
    assert metrics["hybrid"]["tuned_on"] == "validation"
    assert {"date", "machine", "timing_seconds", "roster_size"} <= set(metrics)

    def value(system: str, variant: str, metric: str) -> float:
        return metrics["systems"][system][variant][metric]["value"]

    for system in SYSTEMS:
        for variant in ("full", "partial"):
            for entry in metrics["systems"][system][variant].values():
                assert (
                    0.0 <= entry["ci_low"] <= entry["value"] <= entry["ci_high"] <= 1.0
                )
    # Random is the analytic expectation over a 150-expert roster.
    assert value("random", "full", "hit@1") == pytest.approx(1 / 150, rel=0.2)
    for system in ("bm25", "dense", "hybrid"):
        assert value(system, "full", "hit@5") > 0.85
        assert value(system, "full", "hit@1") > 20 * value("random", "full", "hit@1")
        # Fewer questions make the task harder, never easier (up to noise).
        assert value(system, "partial", "mrr") < value(system, "full", "mrr") + 0.02
    assert value("hybrid", "full", "mrr") >= value("bm25", "full", "mrr") - 0.02


def test_plot_table_and_candidates(evaluated_project: Path):
    plot = evaluated_project / "data/08_reporting/evaluation_comparison.png"
    assert plot.stat().st_size > 10_000
    table = (evaluated_project / "data/08_reporting/results_table.md").read_text()
    for system in SYSTEMS:
        assert f"| {system} | full |" in table and f"| {system} | partial |" in table
    candidates = pd.read_parquet(
        evaluated_project / "data/07_model_output/hybrid_candidates.parquet"
    )
    roster = pd.read_parquet(
        _latest(evaluated_project, "data/03_primary/expert_roster.parquet")
    )
    assert set(candidates["expert_id"]) <= set(roster["expert_id"])
    per_agenda = candidates.groupby(["split", "variant", "project_id"])["expert_id"]
    assert (per_agenda.nunique() == 10).all() and (per_agenda.size() == 10).all()
    partial = pd.read_parquet(
        evaluated_project / "data/05_model_input/partial_test_projects.parquet"
    )
    assert partial["agenda"].map(len).between(3, 4).all()


def test_extra_rankings_are_wired_into_the_metrics_node():
    pipeline = create_pipeline(extra_rankings=["llm_rerank_rankings"])
    (metrics_node,) = [
        n for n in pipeline.nodes if n.name == "compute_evaluation_metrics_node"
    ]
    assert metrics_node.inputs[-2:] == ["baseline_rankings", "llm_rerank_rankings"]
    assert "llm_rerank_rankings" in pipeline.inputs()

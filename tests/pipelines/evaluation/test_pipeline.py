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
from expert_kedro.pipelines.evaluation.nodes import check_retrieval_index
from expert_kedro.retrieval import IndexLeakageError
from tests.conftest import copy_project

SYSTEMS = [
    "random",
    "popularity",
    "bm25",
    "dense",
    "hybrid",
    "hybrid+prior",
    "recent_activity",
]
RECALL = ["recall@5", "recall@10", "recall@20", "recall@50"]


@pytest.fixture(scope="module")
def evaluated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run data_processing + retrieval + evaluation once in a copy of the project."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    project = copy_project(tmp_path_factory.mktemp("evaluation") / "project")
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project,
        runtime_params={"evaluation": {"bootstrap": {"n_boot": 300}}},
    ) as session:
        session.run(pipeline_names=["data_processing", "retrieval", "evaluation"])
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
    # The hybrid's tuning comes from the saved index (tuned once, on validation).
    assert metrics["hybrid"]["tuned_on"] == "validation"
    report = json.loads(
        _latest(
            evaluated_project, "data/08_reporting/retrieval_index_report.json"
        ).read_text()
    )
    assert metrics["hybrid"]["bm25_weight"] == report["tuning"]["bm25_weight"]
    assert metrics["hybrid"]["index_fingerprint"] == report["fingerprint"]
    # The activity prior's weight is tuned on validation too, after the BM25 weight.
    prior = metrics["hybrid"]["prior"]
    assert prior["tuned_on"] == "validation"
    assert prior["prior_weight"] == report["prior_weight"]
    assert prior["n_validation_projects"] == metrics["n_projects"]["validation"]
    # Recent activity (projects dated by created_at) is tuned last, on validation;
    # its window is the recent_activity baseline's.
    recency = metrics["hybrid"]["recency"]
    assert recency["source"] == "tuned on validation"
    assert recency["time_from"] == "created_at"
    assert recency["window"] == report["recency_window"] in (25, 50, 100, 200)
    assert recency["weight"] == report["recency_weight"]
    assert recency["validation_untimed"] == 0
    assert {"date", "machine", "timing_seconds", "roster_size"} <= set(metrics)

    def value(system: str, variant: str, metric: str) -> float:
        return metrics["systems"][system][variant][metric]["value"]

    for system in SYSTEMS:
        for variant in ("full", "partial"):
            for entry in metrics["systems"][system][variant].values():
                # A constant column (random's recall@K = K/N) resamples to its own
                # mean up to the last bits of float summation.
                assert 0.0 <= entry["ci_low"] <= entry["value"] + 1e-12
                assert entry["value"] <= entry["ci_high"] + 1e-12 <= 1.0 + 1e-12
    for system in SYSTEMS:
        for variant in ("full", "partial"):
            entries = metrics["systems"][system][variant]
            assert list(entries) == ["hit@1", "hit@5", "mrr", "ndcg@5", *RECALL]
            recall = [entries[name]["value"] for name in RECALL]
            # A deeper candidate list holds at least as many acceptable experts.
            assert recall == sorted(recall)
        # hit@5 counts projects with any acceptable expert in the top 5, recall@5
        # the share of their acceptable experts: never more.
        full = metrics["systems"][system]["full"]
        assert full["recall@5"]["value"] <= full["hit@5"]["value"]
    assert value("random", "full", "recall@50") == pytest.approx(50 / 150)
    if prior["prior_weight"] == 0.0 and recency["weight"] == 0.0:
        assert metrics["systems"]["hybrid+prior"] == metrics["systems"]["hybrid"]
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
    assert table.splitlines()[0].endswith(
        "| Recall@5 | Recall@10 | Recall@20 | Recall@50 |"
    )
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


def test_evaluation_fits_nothing_and_reads_the_saved_index():
    pipeline = create_pipeline()
    assert "retrieval_index" in pipeline.inputs()
    assert not {"clean_matches", "params:retrieval"} & pipeline.inputs()
    names = [n.name for n in pipeline.nodes]
    assert not [n for n in names if n.startswith(("fit_", "tune_", "build_index"))]
    (check,) = [n for n in pipeline.nodes if n.name == "check_retrieval_index_node"]
    (rank,) = [n for n in pipeline.nodes if n.name == "rank_baseline_projects_node"]
    # The baselines rank only from the leak-checked index.
    assert "checked_retrieval_index" in check.outputs
    assert rank.inputs[0] == "checked_retrieval_index"


def test_an_indexed_held_out_project_fails_before_ranking(evaluated_project: Path):
    """A test project whose agenda (or id) the index holds is refused loudly."""
    bootstrap_project(evaluated_project)
    with KedroSession.create(project_path=evaluated_project) as session:
        catalog = session.load_context().catalog
        index = catalog.load("retrieval_index")
        validation = catalog.load("validation_projects")
        test = catalog.load("test_projects")
        train = catalog.load("train_pairs")
    # A training project (its id and agenda are indexed) posing as a test project.
    leaked = train.drop_duplicates("project_id").head(1)[["project_id", "agenda"]]
    as_test = pd.concat([test, leaked], ignore_index=True)
    with pytest.raises(IndexLeakageError, match="test projects leak"):
        check_retrieval_index(index, validation, as_test, test)
    # A partial agenda identical to an indexed training agenda is caught too.
    renamed = leaked.assign(project_id=-1)
    with pytest.raises(IndexLeakageError, match="test_partial projects leak"):
        check_retrieval_index(index, validation, test, renamed)
    checked, tuning = check_retrieval_index(index, validation, test, test)
    assert checked is index and tuning["tuned_on"] == "validation"

"""The retrieval pipeline through a real KedroSession on the shipped data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import Version

from expert_kedro.datasets import RetrievalIndexDataset
from expert_kedro.pipeline_registry import register_pipelines
from expert_kedro.retrieval import check_no_leakage
from tests.conftest import copy_project


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run data_processing + retrieval once in a copy of the project."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    project = copy_project(tmp_path_factory.mktemp("retrieval") / "project")
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "retrieval"])
    return project


def _latest_table(project: Path, relative: str) -> pd.DataFrame:
    name = Path(relative).name
    (path,) = sorted((project / relative).glob(f"*/{name}"))
    return pd.read_parquet(path)


def test_index_is_saved_versioned_and_leak_free(built_project: Path):
    root = built_project / "data/06_models/retrieval_index"
    (folder,) = root.glob("*/retrieval_index")
    assert (folder / "manifest.json").is_file()
    index = RetrievalIndexDataset(
        filepath=str(root), version=Version(None, None)
    ).load()
    roster = _latest_table(built_project, "data/03_primary/expert_roster.parquet")
    assert index.expert_ids.tolist() == roster["expert_id"].tolist()
    assert index.embeddings.shape == (len(roster), 384)
    train = _latest_table(built_project, "data/03_primary/train_pairs.parquet")
    assert index.indexed_project_ids == frozenset(train["project_id"])
    assert int(index.popularity_counts.sum()) == len(train)
    assert index.settings.index.include_answers is True
    held_out = {
        split: _latest_table(built_project, f"data/03_primary/{split}_projects.parquet")
        for split in ("validation", "test")
    }
    assert check_no_leakage(index, held_out) == {
        split: len(projects) for split, projects in held_out.items()
    }
    agendas = [list(agenda) for agenda in held_out["test"]["agenda"][:3]]
    candidates = index.candidates(agendas, k=10)
    assert (
        candidates.groupby("agenda_index")["expert_id"].nunique().tolist() == [10] * 3
    )


def test_fusion_is_tuned_on_validation_and_reported(built_project: Path):
    (path,) = (built_project / "data/08_reporting/retrieval_index_report.json").glob(
        "*/retrieval_index_report.json"
    )
    report = json.loads(path.read_text())
    tuning = report["tuning"]
    assert tuning["tuned_on"] == "validation"
    validation = _latest_table(
        built_project, "data/03_primary/validation_projects.parquet"
    )
    assert tuning["n_validation_projects"] == len(validation)
    assert len(tuning["grid"]) == 11
    best = max(row["mrr"] for row in tuning["grid"])
    chosen = next(
        r for r in tuning["grid"] if r["bm25_weight"] == report["bm25_weight"]
    )
    assert chosen["mrr"] == best
    assert report["roster_size"] == 150 and len(report["fingerprint"]) == 64


def test_training_builds_the_index_from_data_processing_outputs():
    pipelines = register_pipelines()
    assert set(pipelines["retrieval"].nodes) <= set(pipelines["training"].nodes)
    needed = {i for i in pipelines["retrieval"].inputs() if not i.startswith("param")}
    assert needed <= pipelines["data_processing"].all_outputs()
    assert "retrieval_index" in pipelines["training"].all_outputs()

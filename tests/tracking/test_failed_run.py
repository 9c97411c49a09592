"""A tracked run whose pipeline fails leaves no MLflow run behind in the process.

kedro-mlflow re-opens its run before each node and MLflow 3 stacks the re-openings;
a run left open after a failure would be taken up by the next session of the same
process (tests, notebooks), which then looks for it in its own project's store and
fails before its first node.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import copy_project

pytest.importorskip("kedro_mlflow")
mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402


def _statuses(project: Path) -> list[str]:
    client = MlflowClient(f"sqlite:///{project.as_posix()}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("expert_kedro")
    return [run.info.status for run in client.search_runs([experiment.experiment_id])]


def test_failed_pipeline_closes_its_run(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    bootstrap_project(project)
    # evaluation before data_processing: its first node finds no test_projects.
    with KedroSession.create(project_path=project) as session:
        with pytest.raises(Exception, match="test_projects"):
            session.run(pipeline_names=["evaluation"])
    assert mlflow.active_run() is None
    assert _statuses(project) == ["FAILED"]


def test_untracked_session_after_a_tracked_one(tmp_path: Path):
    """A notebook or test process runs sessions of several projects in a row: an
    untracked pipeline must not re-open the previous project's run."""
    first = copy_project(tmp_path / "first")
    bootstrap_project(first)
    with KedroSession.create(project_path=first) as session:
        with pytest.raises(Exception, match="test_projects"):
            session.run(pipeline_names=["evaluation"])
    second = copy_project(tmp_path / "second")
    bootstrap_project(second)
    with KedroSession.create(project_path=second) as session:
        session.run(pipeline_names=["data_processing"])
    assert mlflow.active_run() is None
    assert _statuses(first) == ["FAILED"]

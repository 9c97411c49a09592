"""Real ``kedro run`` sessions logging into a real local MLflow store (SQLite).

One project copy, sliced like the model_training pipeline test, runs a tiny
``training`` and then ``evaluation``; each must be one MLflow run of the project's
store (``mlruns/mlflow.db``) with its parameters, metrics (training curves with
their steps) and artifacts. A fake Hugging Face token in ``conf/local`` must not
reach the store. Then a run without kedro-mlflow must still work and log nothing.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import copy_project
from tests.pipelines.model_training.test_pipeline import (
    MAX_STEPS,
    RUNTIME_PARAMS,
    _slice_raw_data,
)

pytest.importorskip("kedro_mlflow")
mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

from expert_kedro.tracking import ExperimentTrackingHooks  # noqa: E402

SECRET = "hf_fakeTokenThatMustNeverBeLogged0123456789"
EVALUATION_PARAMS = {"evaluation": {"bootstrap": {"n_boot": 50}}}


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, smollm2_base: Path, monkeypatch_module):
    """The project copy after a tracked tiny training and evaluation."""
    project = copy_project(tmp_path_factory.mktemp("tracking") / "project")
    monkeypatch_module.chdir(project)  # relative checkpoint_dir lands in the copy
    _slice_raw_data(project)
    shutil.copytree(smollm2_base, project / "data" / "06_models" / "base_model")
    credentials = {"huggingface": {"token": SECRET}, "hf_token": SECRET}
    (project / "conf" / "local" / "credentials.yml").write_text(
        yaml.safe_dump(credentials)
    )
    bootstrap_project(project)
    for pipeline, params in (
        ("training", RUNTIME_PARAMS),
        ("evaluation", EVALUATION_PARAMS),
    ):
        with KedroSession.create(project_path=project, runtime_params=params) as s:
            s.run(pipeline_names=[pipeline])
    return project


def _client(project: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{project.as_posix()}/mlruns/mlflow.db")


def _runs(project: Path) -> dict:
    client = _client(project)
    experiment = client.get_experiment_by_name("expert_kedro")
    runs = client.search_runs([experiment.experiment_id])
    return {run.info.run_name: run for run in runs}


def _artifacts(client: MlflowClient, run_id: str, folder: str) -> set[str]:
    return {item.path for item in client.list_artifacts(run_id, folder)}


def test_store_is_sqlite_under_the_project(tracked: Path):
    assert (tracked / "mlruns" / "mlflow.db").is_file()
    assert set(_runs(tracked)) == {"training", "evaluation"}
    experiment = _client(tracked).get_experiment_by_name("expert_kedro")
    location = experiment.artifact_location
    assert location == (tracked / "mlruns" / "artifacts").as_uri()


def test_training_run_logs_params_curves_and_adapter(tracked: Path):
    run = _runs(tracked)["training"]
    assert run.info.status == "FINISHED"
    params = run.data.params
    # Nested parameter groups are flattened, one MLflow parameter per leaf.
    assert params["model_training.training.max_steps"] == str(MAX_STEPS)
    assert params["model_training.selection.metric"] == "mrr"
    client = _client(tracked)
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert [point.step for point in loss] == list(range(1, MAX_STEPS + 1))
    for key in ("eval_loss", "eval_rank_mrr"):
        history = client.get_metric_history(run.info.run_id, key)
        assert [point.step for point in history] == [0, MAX_STEPS], key
    assert run.data.metrics["training/global_step"] == MAX_STEPS
    assert _artifacts(client, run.info.run_id, "training") == {
        "training/training_history.json",
        "training/loss_curve.png",
        "training/lora_adapter",
    }
    adapter = _artifacts(client, run.info.run_id, "training/lora_adapter")
    assert "training/lora_adapter/adapter_config.json" in adapter


def test_evaluation_run_logs_metrics_and_results_table(tracked: Path):
    run = _runs(tracked)["evaluation"]
    metrics = run.data.metrics
    for split in ("test", "validation"):
        assert 0 <= metrics[f"{split}/hybrid/full/mrr"] <= 1
    recall = "test/bm25/full/recall_at_10"
    assert (
        metrics[f"{recall}.ci_low"] <= metrics[recall] <= metrics[f"{recall}.ci_high"]
    )
    assert run.data.params["evaluation.bootstrap.n_boot"] == "50"
    client = _client(tracked)
    assert _artifacts(client, run.info.run_id, "evaluation") == {
        "evaluation/evaluation_metrics.json",
        "evaluation/results_table.md",
        "evaluation/evaluation_comparison.png",
    }
    folder = Path(client.download_artifacts(run.info.run_id, "evaluation"))
    assert "| System" in (folder / "results_table.md").read_text()


def test_no_credential_reaches_the_store(tracked: Path):
    for run in _runs(tracked).values():
        logged = {**run.data.params, **run.data.tags, **run.data.metrics}
        assert SECRET not in repr(logged)
    for path in (tracked / "mlruns").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_runs_without_kedro_mlflow(tracked: Path, monkeypatch, caplog):
    """kedro-mlflow absent: its hook is not registered and nothing is logged."""
    monkeypatch.setattr(
        "kedro.framework.session.session._register_hooks_entry_points",
        lambda *args: None,
    )
    monkeypatch.setitem(sys.modules, "kedro_mlflow", None)
    monkeypatch.setattr(ExperimentTrackingHooks, "said_off", False)
    before = {run.info.run_id for run in _runs(tracked).values()}
    table = tracked / "data" / "08_reporting" / "results_table.md"
    table.unlink()
    caplog.set_level(logging.INFO, logger="expert_kedro.tracking")
    for _ in range(2):
        with KedroSession.create(project_path=tracked) as session:
            session.run(
                pipeline_names=["evaluation"],
                node_names=["render_evaluation_table_node"],
            )
    assert table.is_file()
    assert {run.info.run_id for run in _runs(tracked).values()} == before
    said = [r for r in caplog.records if "tracking is off" in r.getMessage()]
    assert len(said) == 1

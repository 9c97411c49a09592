"""``conf/*/mlflow.yml`` as kedro-mlflow reads it (no MLflow store needed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from expert_kedro import settings
from expert_kedro.config_loader import LayeredConfigLoader
from expert_kedro.tracking import ExperimentTrackingHooks
from tests.conftest import PROJECT_ROOT

# The pattern kedro-mlflow's hook adds to the project's config loader.
MLFLOW_PATTERNS = {"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]}


def _mlflow_yml(env: str, project_path: Path) -> dict:
    ExperimentTrackingHooks().after_context_created(
        context=SimpleNamespace(project_path=project_path)
    )
    loader = LayeredConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        config_patterns=MLFLOW_PATTERNS,
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["mlflow"]


def test_store_is_a_sqlite_file_of_the_project(tmp_path: Path):
    config = _mlflow_yml("local", tmp_path)
    server = config["server"]
    assert server["mlflow_tracking_uri"] == (
        f"sqlite:///{tmp_path.resolve().as_posix()}/mlruns/mlflow.db"
    )
    assert server["credentials"] is None
    experiment = config["tracking"]["experiment"]
    assert experiment["create_experiment_kwargs"]["artifact_location"] == (
        "mlruns/artifacts"
    )
    assert config["tracking"]["params"]["dict_params"]["flatten"] is True
    disabled = config["tracking"]["disable_tracking"]["pipelines"]
    tracked = {"training", "model_training", "evaluation", "evaluation_llm"}
    assert not tracked & set(disabled)


@pytest.mark.parametrize("env", ["multi_gpu", "stackexchange+multi_gpu"])
def test_distributed_training_is_not_tracked(env: str, tmp_path: Path):
    config = _mlflow_yml(env, tmp_path)
    assert "model_training" in config["tracking"]["disable_tracking"]["pipelines"]
    # Merged key by key: the rest of conf/base/mlflow.yml stays.
    assert config["tracking"]["experiment"]["name"] == "expert_kedro"
    assert config["server"]["mlflow_tracking_uri"].endswith("/mlruns/mlflow.db")


def test_kedro_mlflow_accepts_the_configuration(tmp_path: Path):
    config_module = pytest.importorskip("kedro_mlflow.config.kedro_mlflow_config")
    config = config_module.KedroMlflowConfig.model_validate(
        _mlflow_yml("local", tmp_path)
    )
    assert config.tracking.params.long_params_strategy == "truncate"

"""The shipped configuration environments load and validate (``--env gpu|llama3``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.modeling.selection import SelectionSettings
from expert_kedro.recommender.settings import RecommenderSettings

ROOT = Path(__file__).resolve().parents[1]


def _params(env: str) -> dict:
    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT, env=env) as session:
        return session.load_context().params


@pytest.mark.parametrize("env", ["local", "gpu", "llama3"])
def test_environment_parameters_validate(env: str):
    params = _params(env)
    settings = RecommenderSettings.from_params(params["recommender"])
    training = params["model_training"]["training"]
    assert training["per_device_train_batch_size"] >= 1
    # The adapter selection fits the recipe's schedule (checkpoint per evaluation).
    selection = SelectionSettings.from_params(params["model_training"]["selection"])
    selection.training_params(training, has_eval=True)
    assert selection.metric == ("mrr" if env == "gpu" else "last")
    if env == "gpu":
        # Soft merge: the gpu file overrides two inference keys, base keeps the rest.
        assert settings.agenda_batch == 64 and settings.load_in_4bit is False
        assert settings.mode == "rerank" and settings.history_questions == 4
        assert training["upcast_frozen"] is False and training["padding_free"]
    if env == "llama3":
        assert training["extra_args"]["use_liger_kernel"] is True
        assert params["model_training"]["attn_implementation"] == "varlen"

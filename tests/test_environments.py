"""The shipped configuration environments load and validate (``--env gpu|llama3``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.evaluation.settings import EvaluationSettings
from expert_kedro.modeling.settings import ModelTrainingSettings
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
    model_training = ModelTrainingSettings.from_params(params["model_training"])
    selection = model_training.selection
    selection.training_params(model_training.training, has_eval=True)
    assert selection.metric == ("mrr" if env == "gpu" else "last")
    if env == "gpu":
        # Soft merge: the gpu file overrides two inference keys, base keeps the rest.
        assert settings.agenda_batch == 64 and settings.load_in_4bit is False
        assert settings.mode == "rerank" and settings.history_questions == 4
        assert training["upcast_frozen"] is False and training["padding_free"]
    if env == "llama3":
        assert training["use_liger_kernel"] is True
        assert params["model_training"]["attn_implementation"] == "varlen"


def test_candidate_depth_is_set_per_environment():
    """Real data gets a deeper candidate list than the synthetic export, one of the
    depths whose recall@K the evaluation reports."""
    base, real = _params("local"), _params("stackexchange")
    assert RecommenderSettings.from_params(base["recommender"]).candidates == 5
    depth = RecommenderSettings.from_params(real["recommender"]).candidates
    evaluation = EvaluationSettings.from_params(real["evaluation"])
    assert depth == evaluation.candidates.k == 20
    assert depth in evaluation.recall_at
    # Soft merge: the environment's evaluation group keeps base's other keys.
    assert evaluation.bootstrap.n_boot == 2000

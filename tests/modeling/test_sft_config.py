"""The model_training settings and the SFTConfig built from its training recipe."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from expert_kedro.modeling.hardware import HardwareInfo
from expert_kedro.modeling.settings import ModelTrainingSettings
from expert_kedro.modeling.sft_config import build_sft_config
from expert_kedro.modeling.trainer_recipe import (
    DERIVED_SFT_FIELDS,
    PROJECT_TRAINING_KEYS,
    TrainingSettings,
    sft_field_names,
)
from tests.conftest import PROJECT_ROOT

CPU = HardwareInfo("cpu", "test cpu", 0, 8.0, False, 2)


def base_block() -> dict:
    path = PROJECT_ROOT / "conf" / "base" / "parameters_model_training.yml"
    return yaml.safe_load(path.read_text())["model_training"]


def test_the_recipe_reaches_sftconfig_as_written():
    block = base_block()
    settings = ModelTrainingSettings.from_params(block)
    config = build_sft_config(
        settings.training, CPU, seed=settings.seed, has_eval=True, resuming=False
    )
    recipe = {
        k: v for k, v in block["training"].items() if k not in PROJECT_TRAINING_KEYS
    }
    assert recipe and set(recipe) <= sft_field_names()
    assert {k: getattr(config, k) for k in recipe} == recipe
    assert config.output_dir == block["training"]["checkpoint_dir"]
    assert config.seed == config.data_seed == block["seed"]
    assert config.train_sampling_strategy == "group_by_length"
    assert config.eval_strategy == "steps" and config.eval_on_start
    assert config.use_cpu and not config.bf16


def test_further_sftconfig_fields_pass_through():
    training = TrainingSettings.from_params(
        {"max_steps": 2, "torch_compile": True, "report_to": []}
    )
    assert training.sft_args == {"torch_compile": True, "report_to": []}
    config = build_sft_config(training, CPU, seed=1, has_eval=False, resuming=True)
    assert config.torch_compile is True and config.report_to == []
    assert config.eval_strategy == "no" and not config.eval_on_start


def test_a_misspelt_key_is_named():
    with pytest.raises(ValueError, match=r"model_training\.training\.lerning_rate"):
        ModelTrainingSettings.from_params({"training": {"lerning_rate": 1e-4}})


def test_a_key_the_project_sets_is_refused_with_where_to_set_it():
    with pytest.raises(ValueError, match=r"seed is set .*model_training\.seed"):
        TrainingSettings.from_params({"seed": 3})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"training": {"max_steps": "ten"}}, r"model_training\.training\.max_steps"),
        ({"training": {"max_steps": 0}}, r"model_training\.training\.max_steps=0"),
        ({"training": {"bf16": "yes"}}, r"model_training\.training\.bf16"),
        ({"lora": {"r": 0}}, r"model_training\.lora\.r=0"),
        ({"quantization": {"quant_type": "int8"}}, r"quantization\.quant_type"),
        ({"tokenization": {"prompt_style": "x"}}, r"tokenization\.prompt_style"),
        ({"max_train_examples": 0}, r"model_training\.max_train_examples"),
    ],
)
def test_bad_values_are_named(params: dict, message: str):
    with pytest.raises(ValueError, match=message):
        ModelTrainingSettings.from_params(params)


def test_a_value_sftconfig_refuses_names_the_recipe():
    training = TrainingSettings.from_params({"lr_scheduler_type": "sideways"})
    with pytest.raises(ValueError, match=r"SFTConfig refused the model_training"):
        build_sft_config(training, CPU, seed=1, has_eval=False, resuming=False)


def test_declared_keys_are_sftconfig_fields_or_the_projects_own():
    """Guards an upgrade of trl/transformers that renames a recipe field."""
    declared = {f.name for f in dataclasses.fields(TrainingSettings)} - {"sft_args"}
    assert declared - PROJECT_TRAINING_KEYS <= sft_field_names()
    assert set(DERIVED_SFT_FIELDS) <= sft_field_names()
    assert not PROJECT_TRAINING_KEYS & set(DERIVED_SFT_FIELDS)

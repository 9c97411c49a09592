"""conf/ and the settings classes cannot drift apart silently.

The settings dataclasses hold the only defaults in the code; conf/base writes every
value of those groups out with the reasons for it. These tests read the YAML files
themselves (no Kedro session) and fail when a key is not a field of its class, a
value does not validate, a base value differs from its default, or a field is left
out of conf/base; and they build every class from each shipped environment.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from expert_kedro.cross_encoder.settings import CrossEncoderSettings
from expert_kedro.evaluation.settings import EvaluationSettings
from expert_kedro.modeling.settings import ModelTrainingSettings
from expert_kedro.preprocessing.settings import RosterSettings, SplitSettings
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval.settings import RetrievalSettings
from expert_kedro.settings import CONFIG_LOADER_ARGS
from expert_kedro.settings_base import ParameterSettings
from expert_kedro.training_data.settings import (
    AugmentationSettings,
    PairsSettings,
    RerankPairsSettings,
)

CONF = Path(__file__).resolve().parents[1] / "conf"
# Groups whose conf/base block writes every field out.
COMPLETE = (
    PairsSettings,
    AugmentationSettings,
    RerankPairsSettings,
    RosterSettings,
    SplitSettings,
    EvaluationSettings,
    ModelTrainingSettings,
    CrossEncoderSettings,
)
# The recommender's base block leaves fused_kernels to its default (conf/gpu sets
# it); its keys and values are still checked.
CHECKED = (*COMPLETE, RecommenderSettings)
# The retrieval base block writes every field out but turns index.include_answers
# on (the pipeline has the answers table); the class keeps it off for callers that
# have none. Its keys and types are still checked in every environment.
WRITTEN_OUT = (*COMPLETE, RetrievalSettings)
ENVIRONMENTS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "base")


def base_parameters() -> dict[str, Any]:
    """Every top-level group of conf/base/parameters*.yml (no group is repeated)."""
    groups: dict[str, Any] = {}
    for path in sorted((CONF / "base").glob("parameters*.yml")):
        loaded = yaml.safe_load(path.read_text()) or {}
        assert not set(loaded) & set(groups), f"{path.name} repeats a group"
        groups.update(loaded)
    return groups


def differences(got: Any, want: Any, path: str) -> list[str]:
    """``path=<got> (default <want>)`` for every field whose values differ."""
    if not isinstance(want, ParameterSettings):
        return [] if got == want else [f"{path}={got!r} (default {want!r})"]
    found: list[str] = []
    for item in dataclasses.fields(want):
        found += differences(
            getattr(got, item.name), getattr(want, item.name), f"{path}.{item.name}"
        )
    return found


def missing_fields(cls: type[ParameterSettings], block: dict[str, Any]) -> list[str]:
    """Fields of ``cls`` (nested ones included) that ``block`` does not write out."""
    missing = []
    for item in dataclasses.fields(cls):
        if item.metadata.get("collects_further_keys"):
            continue  # TrainingSettings.sft_args: SFTConfig fields beyond the recipe
        path = f"{cls.GROUP}.{item.name}"
        if item.name not in block:
            missing.append(path)
            continue
        nested = getattr(cls(), item.name)
        if isinstance(nested, ParameterSettings):
            missing += missing_fields(type(nested), block[item.name] or {})
    return missing


@pytest.mark.parametrize("cls", CHECKED, ids=lambda cls: cls.GROUP)
def test_base_values_are_fields_that_validate_and_equal_the_defaults(cls):
    block = base_parameters()[cls.GROUP]
    # Unknown keys and values of the wrong type or range raise here, naming them.
    settings = cls.from_params(block)
    assert not differences(settings, cls(), cls.GROUP), (
        "conf/base and the dataclass defaults disagree; change both together"
    )


@pytest.mark.parametrize("cls", WRITTEN_OUT, ids=lambda cls: cls.GROUP)
def test_base_writes_every_field_out(cls):
    assert not missing_fields(cls, base_parameters()[cls.GROUP])


def test_the_checks_see_a_drift():
    block = {**base_parameters()["augmentation"], "seed": 8}
    del block["splits"]
    got = AugmentationSettings.from_params(block)
    assert differences(got, AugmentationSettings(), "augmentation") == [
        "augmentation.seed=8 (default 7)"
    ]
    assert missing_fields(AugmentationSettings, block) == ["augmentation.splits"]
    split = base_parameters()["split"]
    fractions = {"train": 0.6, "validation": 0.2, "test": 0.2}
    assert differences(
        SplitSettings.from_params({**split, "fractions": fractions}),
        SplitSettings(),
        "split",
    ) == [
        "split.fractions.train=0.6 (default 0.7)",
        "split.fractions.validation=0.2 (default 0.1)",
    ]
    no_bootstrap = dict(base_parameters()["evaluation"])
    no_bootstrap["bootstrap"] = {"n_boot": 2000}
    assert missing_fields(EvaluationSettings, no_bootstrap) == [
        "evaluation.bootstrap.confidence"
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_builds_every_settings_class(env):
    params = OmegaConfigLoader(conf_source=str(CONF), env=env, **CONFIG_LOADER_ARGS)[
        "parameters"
    ]
    for cls in (*CHECKED, RetrievalSettings):
        assert isinstance(cls.from_params(params[cls.GROUP]), cls)

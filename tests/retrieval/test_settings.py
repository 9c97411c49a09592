"""RetrievalSettings: one default per key, errors that name the parameter."""

from __future__ import annotations

import pytest

from expert_kedro.retrieval import RetrievalSettings
from tests.conftest import PROJECT_ROOT


def test_defaults_and_yaml_round_trip():
    settings = RetrievalSettings.from_params({})
    assert settings.hybrid.fusion == "zscore" and settings.hybrid.bm25_weight is None
    assert settings.dense.model_path is None
    assert RetrievalSettings.from_params(settings.to_dict()) == settings


def test_shipped_parameters_parse():
    from kedro.config import OmegaConfigLoader

    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"), base_env="base", default_run_env="base"
    )
    settings = RetrievalSettings.from_params(loader["parameters"]["retrieval"])
    assert settings.index.include_answers is True
    assert len(settings.hybrid.weight_grid) == 11
    assert "dense" not in loader["parameters"]["evaluation"], (
        "retrieval settings live in the retrieval group only"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bm25s": {}}, r"Unknown parameter\(s\) \['retrieval\.bm25s'\]"),
        ({"dense": {"model": "x"}}, r"\['retrieval\.dense\.model'\]"),
        ({"hybrid": {"fusion": "max"}}, r"retrieval\.hybrid\.fusion='max'"),
        ({"hybrid": {"bm25_weight": 1.5}}, r"retrieval\.hybrid\.bm25_weight=1\.5"),
        ({"hybrid": {"weight_grid": []}}, r"retrieval\.hybrid\.weight_grid"),
        ({"hybrid": {"tuning_metric": "auc"}}, r"retrieval\.hybrid\.tuning_metric"),
        ({"bm25": {"b": 2}}, r"retrieval\.bm25\.b=2\.0 must be in \[0, 1\]"),
        ({"dense": {"profile_weight": -0.1}}, r"retrieval\.dense\.profile_weight"),
        ({"index": {"include_answers": "yes"}}, r"retrieval\.index\.include_answers"),
        ({"dense": {"batch_size": "64"}}, r"retrieval\.dense\.batch_size='64'"),
    ],
)
def test_bad_parameters_are_named(params: dict, message: str):
    with pytest.raises(ValueError, match=message):
        RetrievalSettings.from_params(params)

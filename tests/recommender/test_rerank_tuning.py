"""Which rerank fusion weight a run uses, and where it comes from."""

from __future__ import annotations

import pytest

from expert_kedro.modeling.handles import LoRAAdapterHandle
from expert_kedro.recommender.rerank_tuning import (
    RerankTuning,
    choose_retrieval_weight,
)
from expert_kedro.recommender.settings import RecommenderSettings

VERSION = "2026-12-01T10.00.00.000Z"


def _adapter(version: str | None = VERSION, path: str = "/a/lora") -> LoRAAdapterHandle:
    return LoRAAdapterHandle(path, {}, None, {}, version)


def _record(**changes) -> dict:
    tuned = RerankTuning.of(
        retrieval_weight=0.7,
        candidates=5,
        adapter=_adapter(),
        tuning_metric="mrr",
        n_validation_projects=138,
        retrieval_index="abc",
    )
    return {**tuned.to_record(), **changes}


def _settings(**params) -> RecommenderSettings:
    return RecommenderSettings.from_params(
        {"candidates": 5, "fallback_retrieval_weight": 0.9, **params}
    )


def test_tuned_weight_of_this_adapter_is_used_and_logged(caplog):
    with caplog.at_level("INFO"):
        choice = choose_retrieval_weight(
            _settings(), _record(), _adapter(), index_fingerprint="abc"
        )
    assert (choice.retrieval_weight, choice.source) == (0.7, "rerank_tuning")
    assert "retrieval_weight=0.70 from rerank_tuning" in caplog.text
    assert VERSION in caplog.text and "138 validation projects" in caplog.text
    assert "another retrieval index" not in caplog.text


def test_a_number_in_the_parameters_overrides_the_tuning(caplog):
    with caplog.at_level("INFO"):
        choice = choose_retrieval_weight(
            _settings(retrieval_weight=0.2), _record(), _adapter()
        )
    assert (choice.retrieval_weight, choice.source) == (0.2, "parameters")
    assert "tuned value 0.7" in caplog.text


@pytest.mark.parametrize(
    ("tuning", "adapter", "why"),
    [
        (None, _adapter(), "no rerank_tuning exists yet"),
        (_record(), _adapter("2026-12-02T00.00.00.000Z"), "not version 2026-12-02"),
        (_record(candidates=8), _adapter(), "candidates=8, not 5"),
        (_record(retrieval_weight=None), _adapter(), "generative mode"),
    ],
    ids=["no-tuning", "other-adapter", "other-k", "generative-run"],
)
def test_fallback_when_no_tuning_fits(tuning, adapter, why, caplog):
    with caplog.at_level("INFO"):
        choice = choose_retrieval_weight(_settings(), tuning, adapter)
    assert (choice.retrieval_weight, choice.source) == (0.9, "fallback")
    assert why in choice.reason and why in caplog.text


def test_unversioned_adapters_match_by_folder(tmp_path):
    folder = tmp_path / "lora"
    folder.mkdir()
    record = _record(adapter_version=None, adapter_path=str(folder))
    same = choose_retrieval_weight(_settings(), record, _adapter(None, str(folder)))
    other = choose_retrieval_weight(_settings(), record, _adapter(None, "/elsewhere"))
    assert (same.source, other.source) == ("rerank_tuning", "fallback")


def test_tuning_on_another_index_is_used_with_a_warning(caplog):
    choice = choose_retrieval_weight(
        _settings(), _record(), _adapter(), index_fingerprint="rebuilt"
    )
    assert choice.source == "rerank_tuning"
    assert "another retrieval index" in caplog.text


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"retrieval_weight": 0.5}, "lacks"),
        (_record(retrieval_weight=1.5), r"outside \[0, 1\]"),
    ],
)
def test_malformed_records_name_the_fix(record, message):
    with pytest.raises(ValueError, match=message) as error:
        choose_retrieval_weight(_settings(), record, _adapter())
    assert "evaluation_llm" in str(error.value)


def test_weights_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match="fallback_retrieval_weight"):
        _settings(fallback_retrieval_weight=2.0)
    with pytest.raises(ValueError, match="retrieval_weight"):
        _settings(retrieval_weight=-0.1)
    with pytest.raises(ValueError, match="tuning_metric"):
        _settings(tuning_metric="accuracy")

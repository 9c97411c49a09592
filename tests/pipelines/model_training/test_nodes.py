"""model_training nodes that need no training run."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from expert_kedro.modeling.handles import BaseModelHandle, ModelSource
from expert_kedro.modeling.loss_curve import plot_loss_curve
from expert_kedro.pipelines.model_training.nodes import (
    prepare_base_model,
    select_training_subset,
    select_validation_subset,
    verify_hardware,
)
from tests.model_fixtures import pairs_frame

PARAMS = {"seed": 42, "include_augmented": True, "max_train_examples": None}


def test_training_subset_keeps_every_mode_and_can_drop_partials():
    pairs = pairs_frame(12)
    assert len(select_training_subset(pairs, PARAMS)) == 12
    originals = select_training_subset(pairs, {**PARAMS, "include_augmented": False})
    assert set(originals["source"]) == {"original"}
    assert len(originals) == (pairs["source"] == "original").sum()
    # Rerank (yes/no) and generative rows are trained alike.
    assert {"yes", "no"} <= set(originals["output"])


def test_subsets_are_seeded_samples():
    pairs = pairs_frame(12)
    params = {**PARAMS, "max_train_examples": 5, "max_validation_examples": 3}
    first = select_training_subset(pairs, params)
    assert len(first) == 5
    pd.testing.assert_frame_equal(first, select_training_subset(pairs, params))
    other = select_training_subset(pairs, {**params, "seed": 7})
    assert set(other["project_id"]) != set(first["project_id"])
    assert len(select_validation_subset(pairs, params)) == 3
    with pytest.raises(ValueError, match="validation_examples lacks column"):
        select_validation_subset(pairs.drop(columns="input"), params)


def test_with_the_ranking_loss_the_training_sample_takes_whole_queries():
    pairs = pairs_frame(12)
    # Four queries of three candidates: one project and agenda each.
    pairs["project_id"] = [str(200 + i // 3) for i in range(12)]
    pairs["agenda"] = [[f"Agenda {i // 3}?"] for i in range(12)]
    params = {**PARAMS, "max_train_examples": 7, "ranking_loss": {"weight": 1.0}}
    sample = select_training_subset(pairs, params)
    assert len(sample) == 6
    assert sample["project_id"].value_counts().tolist() == [3, 3]
    pd.testing.assert_frame_equal(sample, select_training_subset(pairs, params))
    rows = select_training_subset(pairs, {**params, "ranking_loss": {"weight": 0.0}})
    assert len(rows) == 7


def test_a_misspelt_parameter_is_named_before_any_work():
    with pytest.raises(ValueError, match=r"model_training\.max_train_exampels"):
        select_training_subset(pairs_frame(4), {**PARAMS, "max_train_exampels": 3})
    with pytest.raises(ValueError, match=r"model_training\.quantization\.compute"):
        verify_hardware({"compute": "float32"})


def test_prepare_reuses_a_folder_made_from_the_same_source():
    source = ModelSource("/models/smol", "m.gguf")
    cached = BaseModelHandle("/data/06_models/base_model", source.fingerprint())
    assert prepare_base_model(source, cached) is cached


def test_hub_and_folder_sources_are_referenced_not_copied():
    source = ModelSource("meta-llama/Meta-Llama-3-8B", None, "main", token="hf_x")
    stale = BaseModelHandle("/data/06_models/base_model", {"name_or_path": "other"})
    handle = prepare_base_model(source, stale)
    assert isinstance(handle, BaseModelHandle)
    assert handle.path == "meta-llama/Meta-Llama-3-8B" and handle.revision == "main"
    assert handle.token == "hf_x" and handle.source == source.fingerprint()


def test_loss_curve_plots_train_and_validation_loss():
    history = {
        "steps": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}],
        "eval": [{"step": 0, "eval_loss": 2.2}, {"step": 2, "eval_loss": 1.4}],
        "device": {"device_name": "CPU"},
    }
    figure = plot_loss_curve(history)
    assert isinstance(figure, Figure)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["training loss", "validation loss"]
    assert list(lines[1].get_ydata()) == [2.2, 1.4]


def test_verify_hardware_reports_the_compute_dtype():
    info = verify_hardware({"compute_dtype": "float32", "load_in_4bit": True})
    assert info["compute_dtype"] == "float32"
    assert info["device"] in {"cpu", "cuda"} and "bf16_supported" in info

"""The whole ``training`` pipeline through a real KedroSession, on a small slice.

The project copy keeps the first ``PROJECTS`` projects of the raw export (upstream
pipelines, MiniLM encoding included, scale with it); model_training is shrunk
through runtime parameters (a few pairs, a few steps). The SmolLM2 folder prepared
once per test session is put in place, so ``prepare_base_model_node`` takes its
reuse path (the conversion path is what the session fixture itself runs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.modeling.base_model import load_model_for_inference
from expert_kedro.modeling.prompts import encode_prompt
from expert_kedro.recommender.settings import RecommenderSettings
from tests.conftest import copy_project

PROJECTS = 120
MAX_STEPS = 2
RUNTIME_PARAMS = {
    "model_training": {
        "max_train_examples": 2,
        "max_validation_examples": 1,
        # The adapter saved is the best ranking of 2 validation agendas.
        "selection": {"metric": "mrr", "max_agendas": 2},
        "training": {
            "max_steps": MAX_STEPS,
            "per_device_train_batch_size": 1,
            "gradient_accumulation_steps": 1,
            "per_device_eval_batch_size": 1,
            "learning_rate": 2.0e-3,
            "warmup_steps": 0,
            "eval_steps": MAX_STEPS,
            "save_steps": MAX_STEPS,
        },
    }
}


def _slice_raw_data(project: Path) -> None:
    for csv in (project / "data" / "01_raw" / "expert_data.csv").glob("*/*.csv"):
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
        keep = raw["project_id"].drop_duplicates().head(PROJECTS)
        raw[raw["project_id"].isin(keep)].to_csv(csv, index=False)


def _only_version(folder: Path) -> Path:
    versions = sorted(folder.iterdir())
    assert len(versions) == 1, versions
    return versions[0] / folder.name


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smollm2_base: Path, monkeypatch_module):
    project = copy_project(tmp_path_factory.mktemp("training_run") / "project")
    monkeypatch_module.chdir(project)  # relative checkpoint_dir lands in the copy
    _slice_raw_data(project)
    prepared = project / "data" / "06_models" / "base_model"
    shutil.copytree(smollm2_base, prepared)
    stamp = (prepared / "model.safetensors").stat().st_mtime_ns
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, runtime_params=RUNTIME_PARAMS
    ) as session:
        session.run(pipeline_names=["training"])
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog
    return project, catalog, stamp


def test_base_model_was_reused(trained):
    project, _, stamp = trained
    weights = project / "data" / "06_models" / "base_model" / "model.safetensors"
    assert weights.stat().st_mtime_ns == stamp


def test_tokenized_datasets_are_versioned_and_unpadded(trained):
    project, catalog, _ = trained
    for name, rows in (("tokenized_train", 2), ("tokenized_validation", 1)):
        _only_version(project / "data" / "05_model_input" / name)
        dataset = catalog.load(name)
        assert len(dataset) == rows
        for row in dataset:
            assert len(row["input_ids"]) == row["length"] == len(row["labels"])
            assert row["labels"][0] == -100  # prompt masked
            assert row["labels"][-1] != -100  # answer trained


def test_adapter_reloads_and_changes_the_logits(trained):
    project, catalog, _ = trained
    folder = _only_version(project / "data" / "06_models" / "lora_adapter")
    assert (folder / "adapter_config.json").is_file()
    handle = catalog.load("lora_adapter")
    assert Path(handle.path) == folder
    assert handle.training_info["global_step"] == MAX_STEPS
    # The rerank prompt layout of params:recommender travels with the adapter.
    layout = handle.training_info["recommender"]
    params = yaml.safe_load((project / "conf/base/parameters.yml").read_text())
    configured = RecommenderSettings.from_params(params["recommender"])
    assert layout == configured.rerank_layout()
    assert set(layout) == {
        "mode",
        "history_questions",
        "candidate_region",
        "agenda_region",
        "candidate_activity",
    }
    model, tokenizer = load_model_for_inference(catalog.load("base_model"), handle)
    assert type(model).__name__.startswith("PeftModel")
    ids = torch.tensor(
        [encode_prompt(tokenizer, "Recommend an expert.", "Agenda:\n1. Lithium?")]
    )
    with torch.no_grad():
        tuned = model(input_ids=ids).logits
        with model.disable_adapter():
            base = model(input_ids=ids).logits
    assert (tuned - base).abs().max().item() > 1e-3


def test_history_and_plot(trained):
    project, catalog, _ = trained
    reporting = project / "data" / "08_reporting"
    history = json.loads(_only_version(reporting / "training_history.json").read_text())
    assert history == catalog.load("training_history")
    assert [s["step"] for s in history["steps"]] == list(range(1, MAX_STEPS + 1))
    assert [e["step"] for e in history["eval"]] == [0, MAX_STEPS]
    # The reranker ranked the validation agendas at each evaluation, and selected.
    assert all(0 <= e["eval_rank_mrr"] <= 1 for e in history["eval"])
    assert history["selection"]["metric"] == "mrr"
    assert history["selection"]["best_step"] == MAX_STEPS  # the only one compared
    assert catalog.load("lora_adapter").training_info["selection"]["best_step"] == 2
    assert history["eval_loss_start"] > 0 and history["eval_loss_end"] > 0
    assert history["train_tokens"] > 0 and history["tokens_per_second"] > 0
    assert history["peak_memory_gib"] > 0 and history["wall_time_s"] > 0
    assert history["device"]["device"] in {"cpu", "cuda"}
    assert history["parameters"]["max_train_examples"] == 2  # runtime params applied
    assert _only_version(reporting / "loss_curve.png").stat().st_size > 1000
    checkpoints = project / "data" / "06_models" / "checkpoints"
    assert (checkpoints / f"checkpoint-{MAX_STEPS}" / "trainer_state.json").is_file()

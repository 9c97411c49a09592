"""BaseModelDataset: prepared folders, references, the optional cache entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kedro.io import DatasetError
from transformers import AutoModelForCausalLM, AutoTokenizer

from expert_kedro.datasets import BaseModelDataset
from expert_kedro.modeling.handles import BaseModelHandle, PreparedBaseModel

SOURCE = {"name_or_path": "/somewhere", "gguf_file": "m.gguf", "revision": None}


def test_missing_folder(tmp_path: Path):
    folder = str(tmp_path / "base_model")
    assert BaseModelDataset(filepath=folder, missing_ok=True).load() is None
    with pytest.raises(DatasetError, match="No prepared base model"):
        BaseModelDataset(filepath=folder).load()


def test_prepared_model_round_trip(tiny_model: Path, tmp_path: Path):
    folder = tmp_path / "base_model"
    dataset = BaseModelDataset(filepath=str(folder), credentials={"token": "hf_x"})
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    dataset.save(PreparedBaseModel(model, tokenizer, SOURCE))
    assert dataset.exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp left
    handle = dataset.load()
    assert handle.path == str(folder) and handle.source == SOURCE
    assert handle.token == "hf_x" and "hf_x" not in repr(handle)
    assert "hf_x" not in (folder / "prepared_from.json").read_text()
    assert AutoModelForCausalLM.from_pretrained(handle.path).num_parameters() == (
        model.num_parameters()
    )
    # Saving the handle of the same folder (the reuse path) writes nothing.
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    dataset.save(handle)
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    preview = json.loads(dataset.preview())
    assert preview["source"] == SOURCE and preview["config"]["num_hidden_layers"] == 2


def test_reference_to_an_existing_checkpoint(tmp_path: Path):
    dataset = BaseModelDataset(filepath=str(tmp_path / "base_model_llama3"))
    source = {"name_or_path": "meta-llama/Meta-Llama-3-8B", "gguf_file": None}
    dataset.save(BaseModelHandle("meta-llama/Meta-Llama-3-8B", source, revision="main"))
    written = sorted(p.name for p in (tmp_path / "base_model_llama3").iterdir())
    assert written == ["prepared_from.json"]  # nothing copied
    handle = dataset.load()
    assert handle.path == "meta-llama/Meta-Llama-3-8B" and handle.revision == "main"


def test_rejects_other_objects(tmp_path: Path):
    with pytest.raises(DatasetError, match="expects a PreparedBaseModel"):
        BaseModelDataset(filepath=str(tmp_path / "m")).save({"model": 1})

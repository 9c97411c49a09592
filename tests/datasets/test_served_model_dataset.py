"""ServedModelDataset: versioned folders, adapter copy, bad inputs, catalog entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kedro.io import DataCatalog, DatasetError, Version
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from expert_kedro.datasets import ServedModelDataset
from expert_kedro.modeling.handles import ServedModel, ServedModelHandle

CARD = {
    "model": {"dtype": "float32"},
    "base_model": {"name_or_path": "tiny"},
    "adapter": {"version": None},
    "prompt": {"mode": "rerank"},
    "training_info": {"seed": 1},
}


def _served(model_dir: Path, card: dict | None = None, **kwargs) -> ServedModel:
    return ServedModel(
        AutoModelForCausalLM.from_pretrained(model_dir),
        AutoTokenizer.from_pretrained(model_dir),
        card or CARD,
        "# Tiny\n",
        **kwargs,
    )


def _adapter_folder(model_dir: Path, folder: Path) -> Path:
    config = LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    get_peft_model(base, config).save_pretrained(folder)
    return folder


def test_save_load_with_adapter(tiny_model: Path, tmp_path: Path):
    adapter = _adapter_folder(tiny_model, tmp_path / "lora")
    dataset = ServedModelDataset(
        filepath=str(tmp_path / "served_model"), version=Version(None, None)
    )
    assert not dataset.exists()
    dataset.save(_served(tiny_model, adapter_path=str(adapter)))
    assert dataset.exists()
    handle = dataset.load()
    assert isinstance(handle, ServedModelHandle)
    folder = Path(handle.path)
    assert folder.parent.parent == tmp_path / "served_model"  # <filepath>/<version>/
    assert handle.version == folder.parent.name
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "adapter",
        "merged",
        "model_card.json",
    ]
    assert sorted(p.name for p in Path(handle.adapter_path).iterdir()) == [
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    assert handle.card == CARD
    assert AutoModelForCausalLM.from_pretrained(handle.merged_path).num_parameters()


def test_versions_are_kept_and_pinnable(tiny_model: Path, tmp_path: Path):
    path = str(tmp_path / "served_model")
    first, second = (
        Version(None, "2026-01-01T00.00.00.000Z"),
        Version(None, "2026-01-02T00.00.00.000Z"),
    )
    ServedModelDataset(filepath=path, version=first).save(_served(tiny_model))
    later = {**CARD, "training_info": {"seed": 2}}
    ServedModelDataset(filepath=path, version=second).save(_served(tiny_model, later))
    latest = ServedModelDataset(filepath=path, version=Version(None, None)).load()
    pinned = ServedModelDataset(filepath=path, version=Version(first.save, None)).load()
    assert latest.card["training_info"]["seed"] == 2
    assert pinned.card["training_info"]["seed"] == 1
    assert pinned.adapter_path is None
    with pytest.raises(DatasetError, match="must not exist if versioning is enabled"):
        ServedModelDataset(filepath=path, version=first).save(_served(tiny_model))


def test_bad_inputs(tiny_model: Path, tmp_path: Path):
    dataset = ServedModelDataset(filepath=str(tmp_path / "s"))
    with pytest.raises(DatasetError, match="expects a ServedModel"):
        dataset.save("not a model")
    served = _served(tiny_model)
    config = LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")
    served.model = get_peft_model(served.model, config)
    with pytest.raises(DatasetError, match="still has peft layers"):
        dataset.save(served)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "adapter_config.json").write_text("{}")
    with pytest.raises(DatasetError, match=r"lacks \['adapter_model.safetensors'\]"):
        dataset.save(_served(tiny_model, adapter_path=str(tmp_path / "half")))
    assert not (tmp_path / "s").exists()  # nothing half-written
    with pytest.raises(DatasetError, match="kedro run --pipelines=export"):
        dataset.load()


def test_describe_preview_and_catalog_entry(tiny_model: Path, tmp_path: Path):
    catalog = DataCatalog.from_config(
        {
            "served_model": {
                "type": "expert_kedro.datasets.ServedModelDataset",
                "filepath": str(tmp_path / "served_model"),
                "versioned": True,
            }
        }
    )
    dataset = catalog.get("served_model")
    assert json.loads(dataset.preview()) == {}
    assert "served_model" in repr(dataset)
    catalog.save("served_model", _served(tiny_model))
    assert catalog.load("served_model").card == CARD
    preview = json.loads(dataset.preview())
    assert set(preview) == {"model", "base_model", "adapter", "prompt"}

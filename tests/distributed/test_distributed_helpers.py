"""Fast checks of the distributed helpers (no process group needed)."""

from __future__ import annotations

import pytest
import torch
from kedro.pipeline import Node, Pipeline

from expert_kedro.hooks import check_distributed_pipeline
from expert_kedro.modeling.distributed import (
    DistributedEnv,
    GatheredPeftModel,
    distributed_env,
    model_device_map,
)
from expert_kedro.modeling.hardware import HardwareInfo, build_quantization_config
from expert_kedro.modeling.settings import QuantizationSettings


def _identity(x):
    return x


def test_distributed_env_reads_launcher_variables(monkeypatch: pytest.MonkeyPatch):
    for name, value in {"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    env = distributed_env()
    assert (env.rank, env.local_rank, env.world_size, env.fsdp) == (3, 1, 4, True)
    assert env.is_distributed and not env.is_main


def test_device_map_per_mode():
    assert model_device_map("cpu", DistributedEnv(world_size=2)) == {"": "cpu"}
    assert model_device_map("cuda", DistributedEnv()) == {"": 0}
    ddp = DistributedEnv(rank=3, local_rank=3, world_size=4)
    assert model_device_map("cuda", ddp) == {"": 3}
    assert model_device_map("cuda", DistributedEnv(world_size=4, fsdp=True)) is None


def test_pipeline_guard_names_upstream_nodes():
    allowed = Pipeline(
        [
            Node(_identity, "a", "b", name="train_lora_adapter_node"),
            Node(_identity, "b", "c", name="plot_loss_curve_node"),
        ]
    )
    check_distributed_pipeline(allowed)
    upstream = allowed + Pipeline(
        [Node(_identity, "x", "a", name="tokenize_train_node")]
    )
    with pytest.raises(ValueError, match=r"tokenize_train_node.*--to-nodes"):
        check_distributed_pipeline(upstream)


def test_quant_storage_for_fsdp():
    cpu = HardwareInfo("cpu", "cpu", 0, 8.0, True, 2)
    fsdp = build_quantization_config(
        QuantizationSettings(compute_dtype="bfloat16", quant_storage="bfloat16"), cpu
    )
    assert fsdp.bnb_4bit_quant_storage == torch.bfloat16
    default = build_quantization_config(QuantizationSettings(), cpu)
    assert default.bnb_4bit_quant_storage == torch.uint8
    with pytest.raises(ValueError, match="quant_storage"):
        build_quantization_config(QuantizationSettings(quant_storage="int4"), cpu)


def test_gathered_model_saves_given_weights(tmp_path):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=32,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
    )
    peft_model = get_peft_model(
        LlamaForCausalLM(config), LoraConfig(r=2, target_modules=["q_proj"])
    )
    # Stand-in for the gathered full state dict: same keys, known values.
    full = {key: torch.full_like(v, 0.5) for key, v in peft_model.state_dict().items()}
    gathered = GatheredPeftModel(peft_model, full)
    assert gathered.peft_config is peft_model.peft_config
    gathered.save_pretrained(str(tmp_path))
    saved = load_file(str(tmp_path / "adapter_model.safetensors"))
    assert saved and all("lora_" in key for key in saved)
    assert all(bool((tensor == 0.5).all()) for tensor in saved.values())

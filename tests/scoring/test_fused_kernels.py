"""``recommender.fused_kernels``: Liger on CUDA, a clear error elsewhere."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from transformers import LlamaForCausalLM

from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.scoring.fused_kernels import (
    FusedKernelsUnavailableError,
    apply_fused_kernels,
)
from tests.tiny_llama import tiny_llama_config


def test_fused_kernels_setting_is_boolean():
    assert RecommenderSettings().fused_kernels is False
    with pytest.raises(ValueError, match="fused_kernels"):
        RecommenderSettings.from_params({"fused_kernels": "auto"})


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU error")
def test_without_cuda_the_error_says_what_to_set():
    model = LlamaForCausalLM(tiny_llama_config())
    with pytest.raises(
        FusedKernelsUnavailableError, match="fused_kernels needs a CUDA"
    ):
        apply_fused_kernels(model)


@pytest.mark.skipif(
    not torch.cuda.is_available() or importlib.util.find_spec("liger_kernel") is None,
    reason="needs CUDA and liger-kernel",
)
def test_fused_model_gives_the_same_logits():
    from transformers.models.llama import modeling_llama

    torch.manual_seed(0)
    config = tiny_llama_config(vocab_size=97, hidden_size=64, intermediate_size=128)
    model = LlamaForCausalLM(config).to("cuda", torch.bfloat16).eval()
    ids = torch.randint(0, 97, (2, 24), device="cuda")
    rope, norm = modeling_llama.apply_rotary_pos_emb, modeling_llama.LlamaRMSNorm
    try:
        with torch.inference_mode():
            plain = model(input_ids=ids).logits.float()
            apply_fused_kernels(model)
            assert modeling_llama.apply_rotary_pos_emb is not rope  # Liger's RoPE
            # Models built later keep plain (CPU-capable) modules.
            assert modeling_llama.LlamaRMSNorm is norm
            assert model.model.layers[0].mlp._get_name() == "LigerSwiGLUMLP"
            fused = model(input_ids=ids).logits.float()
    finally:
        modeling_llama.apply_rotary_pos_emb = rope
    torch.testing.assert_close(fused, plain, atol=3e-2, rtol=3e-2)

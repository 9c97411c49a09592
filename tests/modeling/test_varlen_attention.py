"""The ``varlen`` attention: same numbers as padded SDPA, without the padding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from expert_kedro.modeling.varlen_attention import (
    VARLEN,
    cu_seqlens_from_position_ids,
    register_varlen_attention,
)
from tests.tiny_llama import tiny_llama_config

EXAMPLES = [
    {"input_ids": [1, 5, 6, 7, 8, 9, 10], "labels": [-100, -100, -100, 7, 8, 9, 10]},
    {"input_ids": [1, 11, 12, 13], "labels": [-100, -100, 12, 13]},
    {"input_ids": [1, 14, 15, 16, 17], "labels": [-100, 14, 15, 16, 17]},
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama with grouped-query attention (no tokenizer needed)."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    config = tiny_llama_config(hidden_size=64, intermediate_size=128)
    folder = tmp_path_factory.mktemp("varlen_llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def _model(tiny_model: Path, attn: str, device: str = "cpu"):
    from transformers import AutoModelForCausalLM

    if attn == VARLEN:
        register_varlen_attention()
    model = AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=attn)
    return model.to(device).eval()


def _batch(padding_free: bool, device: str = "cpu") -> dict[str, torch.Tensor]:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(pad_token_id=2, padding_free=padding_free)(
        EXAMPLES
    )
    keys = ("input_ids", "labels", "attention_mask", "position_ids")
    return {k: v.to(device) for k, v in batch.items() if k in keys}


def test_cu_seqlens_mark_every_example_start():
    positions = torch.tensor([0, 1, 2, 0, 1, 0, 1, 2, 3])
    assert cu_seqlens_from_position_ids(positions).tolist() == [0, 3, 5, 9]
    assert cu_seqlens_from_position_ids(torch.arange(4)).tolist() == [0, 4]


def test_padding_free_row_matches_padded_sdpa(tiny_model: Path):
    """Per-token logits of a padding-free row equal those of a padded batch."""
    sdpa, varlen = _model(tiny_model, "sdpa"), _model(tiny_model, VARLEN)
    padded = _batch(padding_free=False)
    row = _batch(padding_free=True)
    with torch.no_grad():
        ref = sdpa(**padded, use_cache=False)
        out = varlen(**row, use_cache=False)
    keep = padded["attention_mask"].bool()
    torch.testing.assert_close(out.logits[0], ref.logits[keep], rtol=1e-4, atol=1e-4)
    assert out.loss.item() == pytest.approx(ref.loss.item(), abs=1e-5)


def test_padded_batches_and_cached_prefixes_match_sdpa(tiny_model: Path):
    """Evaluation/inference inputs (padding, KV-cached prefix) fall back to SDPA."""
    sdpa, varlen = _model(tiny_model, "sdpa"), _model(tiny_model, VARLEN)
    padded = _batch(padding_free=False)
    prefix = torch.tensor([[1, 5, 6, 7]])
    suffix = torch.tensor([[8, 9, 10], [11, 12, 13]])
    with torch.no_grad():
        assert torch.allclose(varlen(**padded).logits, sdpa(**padded).logits, atol=1e-5)
        results = []
        for model in (sdpa, varlen):
            cache = model(prefix, use_cache=True).past_key_values
            cache.batch_repeat_interleave(2)
            results.append(model(suffix, past_key_values=cache).logits)
    torch.testing.assert_close(results[1], results[0], rtol=1e-4, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_varlen_kernel_matches_padded_sdpa(tiny_model: Path):
    """The FlashAttention varlen path gives the padded loss and gradients."""
    losses, grads = [], []
    for attn, padding_free in (("sdpa", False), (VARLEN, True)):
        model = _model(tiny_model, attn, "cuda").to(torch.bfloat16)
        loss = model(**_batch(padding_free, "cuda"), use_cache=False).loss
        loss.backward()
        losses.append(loss.item())
        grads.append(model.model.layers[0].self_attn.q_proj.weight.grad.float())
    assert losses[1] == pytest.approx(losses[0], rel=2e-2)
    rel = (grads[1] - grads[0]).norm() / grads[0].norm()
    assert rel < 5e-2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_kernel_alignment_check_runs_inside_autocast():
    """The one-time check of the kernel's causal alignment first runs inside the
    Trainer's autocast forward (ranking validation during training): it must
    compare like dtypes there, not raise."""
    from expert_kedro.modeling.varlen_attention import _CudaVarlen

    kernel = _CudaVarlen()
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        inside = kernel.aligned_to_last_key(torch.device("cuda"))
    assert inside == _CudaVarlen().aligned_to_last_key(torch.device("cuda"))

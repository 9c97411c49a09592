"""Shared-prefix rows: the layout, and attention equal to each prompt run alone."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM

from expert_kedro.modeling.shared_prefix_attention import (
    LAYOUT_KWARG,
    SharedPrefixLayout,
)
from expert_kedro.modeling.varlen_attention import VARLEN, register_varlen_attention
from tests.tiny_llama import tiny_llama_config


def test_layout_of_two_groups():
    layout = SharedPrefixLayout.build([(3, [2, 1]), (0, [2])])
    # Row: p p p | a a | b | c c
    assert layout.cu_seq_q.tolist() == [0, 3, 5, 6, 8]
    # Keys: prefix; prefix + a; prefix + b; c.
    assert layout.cu_seq_k.tolist() == [0, 3, 8, 12, 14]
    assert layout.key_index.tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 0, 1, 2, 5, 6, 7]
    assert layout.positions.tolist() == [0, 1, 2, 3, 4, 3, 0, 1]
    assert layout.last_tokens.tolist() == [4, 5, 7]
    assert (layout.max_q, layout.max_k, layout.row_length) == (3, 5, 8)


@pytest.mark.parametrize("groups", [[(2, [])], [(2, [1, 0])]])
def test_layout_refuses_groups_without_suffix_tokens(groups):
    with pytest.raises(ValueError, match="suffixes of at least one token"):
        SharedPrefixLayout.build(groups)


def _model(attn: str) -> LlamaForCausalLM:
    torch.manual_seed(0)
    register_varlen_attention()
    config = tiny_llama_config(vocab_size=97)
    return LlamaForCausalLM._from_config(config, attn_implementation=attn).eval()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_packed_row_logits_equal_each_prompt_run_alone(device):
    """Every suffix token's logits in the packed row are those of its prompt
    (prefix + suffix) run on its own: no candidate sees another one.

    On CUDA this is the varlen kernel's causal alignment for segments with more
    keys than queries; on CPU the per-segment SDPA reference.
    """
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = _model(VARLEN).to(device, dtype)
    prefix = [11, 12, 13, 14, 15]
    suffixes = [[20, 21, 22], [30], [40, 41]]
    other = [[50, 51, 52, 53]]
    layout = SharedPrefixLayout.build([(5, [3, 1, 2]), (0, [4])], device)
    row = prefix + [t for s in suffixes for t in s] + other[0]
    with torch.inference_mode():
        packed = (
            model(
                input_ids=torch.tensor([row], device=device),
                position_ids=layout.positions[None],
                **{LAYOUT_KWARG: layout},
            )
            .logits[0]
            .float()
        )
        start = len(prefix)
        tol = 5e-2 if device == "cuda" else 1e-4
        for suffix in [*suffixes, None]:
            whole = prefix + suffix if suffix else other[0]
            alone = model(input_ids=torch.tensor([whole], device=device)).logits[0]
            n = len(suffix) if suffix else len(whole)
            torch.testing.assert_close(
                packed[start : start + n], alone[-n:].float(), atol=tol, rtol=tol
            )
            start += n
        # The prefix's own positions are those of the prefix run alone.
        alone = model(input_ids=torch.tensor([prefix], device=device)).logits[0]
        torch.testing.assert_close(packed[:5], alone.float(), atol=tol, rtol=tol)

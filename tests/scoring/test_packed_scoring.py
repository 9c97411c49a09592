"""Packed rerank scoring (``recommender.packing``) equals scoring each prompt whole."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from transformers import LlamaForCausalLM

from expert_kedro.scoring import packed_scoring
from expert_kedro.scoring.packed_scoring import _passes, packed_next_token_logits
from tests.tiny_llama import tiny_llama_config

GROUPS = [
    [list(range(10, 30)) + s for s in ([40, 41], [50], [60, 61, 62, 63, 64])],
    [list(range(30, 36)) + s for s in ([40, 41, 42], [51, 52])],
    [[5, 6, 7]],
    [],
]


def _model(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(tiny_llama_config(vocab_size=97)).eval()


def _alone(model, groups, ids):
    with torch.inference_mode():
        return np.array(
            [
                model(input_ids=torch.tensor([s])).logits[0, -1, ids].float().numpy()
                for group in groups
                for s in group
            ]
        )


@pytest.mark.parametrize("batch_size", [1, 2, 4, 16])
def test_packed_logits_equal_each_prompt_alone(batch_size):
    model = _model()
    got = packed_next_token_logits(
        model, GROUPS, [3, 7], pad_id=0, batch_size=batch_size
    )
    np.testing.assert_allclose(got, _alone(model, GROUPS, [3, 7]), atol=1e-4)


def test_packed_scoring_of_a_peft_model():
    from peft import LoraConfig, get_peft_model

    wrapped = get_peft_model(_model(1), LoraConfig(r=4, target_modules="all-linear"))
    for name, param in wrapped.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.2)
    wrapped.eval()
    got = packed_next_token_logits(wrapped, GROUPS, [3, 7, 11], pad_id=0)
    np.testing.assert_allclose(got, _alone(wrapped, GROUPS, [3, 7, 11]), atol=1e-4)
    assert wrapped.get_base_model().config._attn_implementation == "varlen"


def test_passes_keep_order_and_split_large_groups():
    groups = [[[1]] * 5, [[2]] * 2, [[3]] * 3]
    passes = _passes(groups, 4)
    assert [[len(p) for p in pieces] for pieces in passes] == [[4], [1, 2], [3]]


def test_model_that_ignores_the_layout_is_scored_padded(monkeypatch, caplog):
    """A model whose attention never sees the layout (here: left on SDPA) would let
    candidates attend to each other; every packed pass checks that the layout ran."""
    monkeypatch.setattr(packed_scoring, "use_varlen_attention", lambda model: None)
    model = _model(2)
    with caplog.at_level(logging.WARNING):
        got = packed_next_token_logits(model, GROUPS, [3, 7], pad_id=0)
        again = packed_next_token_logits(model, GROUPS, [3, 7], pad_id=0)
    assert caplog.text.count("scoring padded") == 1
    np.testing.assert_allclose(got, _alone(model, GROUPS, [3, 7]), atol=1e-4)
    np.testing.assert_allclose(again, got)


def test_logit_check_against_padded_scoring():
    """The first-call check of CUDA models: ~0 for a model that runs the layout,
    failed for one whose attention ignores it."""
    model = _model(3)
    packed_scoring.use_varlen_attention(model)
    with torch.inference_mode():
        good = packed_scoring.packed_check(model, GROUPS[0], pad_id=0)
    assert good["ok"] and good["rms"] < 1e-4
    plain = _model(3)  # left on SDPA
    with torch.inference_mode():
        assert not packed_scoring.packed_check(plain, GROUPS[0], pad_id=0)["ok"]


def test_no_prompts_give_no_rows():
    assert packed_next_token_logits(_model(), [[], []], [3], pad_id=0).shape == (0, 1)

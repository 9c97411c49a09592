"""Shared-prefix scoring equals scoring every full sequence on its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaForCausalLM

from expert_kedro.scoring.llm_scoring import (
    common_prefix_length,
    continuation_logprobs,
    next_token_logits,
)
from tests.tiny_llama import tiny_llama_config


@pytest.fixture(scope="module")
def model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = tiny_llama_config(vocab_size=97)
    return LlamaForCausalLM(config).eval()


def _full_logits(model, seq):
    with torch.inference_mode():
        return model(input_ids=torch.tensor([seq])).logits[0].float()


def test_common_prefix_keeps_one_token_each():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4]]) == 2
    assert common_prefix_length([[1, 2], [1, 2, 3]]) == 1
    assert common_prefix_length([[5, 2], [1, 2]]) == 0
    with pytest.raises(ValueError):
        common_prefix_length([[1], []])


@pytest.mark.parametrize("share_prefix", [True, False])
def test_next_token_logits_match_full_forward(model, share_prefix):
    """Shared-prefix and whole-prompt (padded batch) scoring give the same logits."""
    prefix = list(range(10, 30))
    seqs = [prefix + s for s in ([40, 41], [50], [60, 61, 62, 63, 64], [70, 71, 72])]
    got = next_token_logits(
        model, seqs, [3, 7], pad_id=0, batch_size=3, share_prefix=share_prefix
    )
    want = np.array([_full_logits(model, s)[-1, [3, 7]].numpy() for s in seqs])
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_continuation_logprobs_match_full_forward(model):
    prompt = list(range(5, 25))
    conts = [[80, 81, 40, 41], [80, 81, 50], [80, 81, 60, 61, 62]]
    got = continuation_logprobs(model, prompt, conts, pad_id=0, batch_size=2)
    want = []
    for cont in conts:
        logp = torch.log_softmax(_full_logits(model, prompt + cont), -1)
        # Tokens shared by every candidate (80, 81) are left out of the score.
        want.append(
            sum(
                logp[len(prompt) + i - 1, t].item()
                for i, t in enumerate(cont)
                if i >= 2
            )
        )
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.fixture(scope="module")
def peft_model() -> torch.nn.Module:
    """A LoRA-wrapped tiny Llama whose adapter changes the logits (B != 0)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    base = LlamaForCausalLM(tiny_llama_config(vocab_size=97))
    wrapped = get_peft_model(
        base, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear")
    )
    for name, param in wrapped.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.2)
    return wrapped.eval()


@pytest.mark.parametrize("capped", [False, True])
def test_last_token_scoring_of_a_peft_model_matches_its_full_forward(
    peft_model, capped
):
    """The output layer on the last positions only == the model's own logits.

    ``capped`` marks the config as one whose head caps logits: scoring then goes
    through the model's forward (``logits_to_keep``) instead of decoder + head.
    """
    config = peft_model.get_base_model().config
    config.final_logit_softcapping = 30.0 if capped else None
    try:
        seqs = [[5, 6, 7, 8, 9], [5, 6, 7, 20], [5, 6, 30, 31, 32, 33, 34]]
        for share in (True, False):
            got = next_token_logits(
                peft_model, seqs, [3, 7, 11], pad_id=0, batch_size=2, share_prefix=share
            )
            want = np.array(
                [_full_logits(peft_model, s)[-1, [3, 7, 11]].numpy() for s in seqs]
            )
            np.testing.assert_allclose(got, want, atol=1e-4)
    finally:
        config.final_logit_softcapping = None

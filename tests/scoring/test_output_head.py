"""Rerank scores of a bf16 model are read in float32, not on bf16's grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaForCausalLM

from expert_kedro.scoring import output_head
from expert_kedro.scoring.llm_scoring import continuation_logprobs, next_token_logits
from expert_kedro.scoring.output_head import head_logits
from expert_kedro.scoring.packed_scoring import packed_next_token_logits
from tests.tiny_llama import tiny_llama_config

YES_NO = [3, 7]


def _large_logit_head(bias: bool = False) -> torch.nn.Linear:
    """A bf16 head whose logits lie near 40, where bf16's step is 0.25."""
    torch.manual_seed(0)
    head = torch.nn.Linear(64, 97, bias=bias)
    with torch.no_grad():
        head.weight.normal_(mean=1.0, std=0.2)
    return head.to(torch.bfloat16)


@torch.no_grad()
def test_chosen_logits_match_a_float64_product_where_bf16_rounds():
    head = _large_logit_head()
    hidden = (torch.rand(50, 64) * 1.25).to(torch.bfloat16)
    exact = hidden.double() @ head.weight.double().T
    got = head_logits(hidden, head, YES_NO).double()
    np.testing.assert_allclose(got, exact[:, YES_NO], atol=1e-3)
    # The premise: the head's own bf16 output is off by up to half a step.
    assert (head(hidden).double() - exact).abs().max() > 0.05


def test_whole_vocabulary_in_slices_equals_the_chosen_rows(monkeypatch):
    monkeypatch.setattr(output_head, "VOCAB_SLICE", 10)
    head = _large_logit_head(bias=True)
    hidden = torch.rand(4, 3, 64).to(torch.bfloat16)
    whole = head_logits(hidden, head)
    assert whole.shape == (4, 3, 97) and whole.dtype == torch.float32
    torch.testing.assert_close(
        whole[..., [5, 96, 0]], head_logits(hidden, head, [5, 96, 0])
    )


def test_a_head_that_is_not_a_plain_linear_runs_as_the_model_runs_it():
    class Capped(torch.nn.Linear):
        def forward(self, x):
            return torch.tanh(super().forward(x))

    head = Capped(8, 5)
    hidden = torch.randn(2, 8)
    torch.testing.assert_close(
        head_logits(hidden, head, [4, 1]), head(hidden)[:, [4, 1]]
    )


def _bf16_model(spread: float = 0.1) -> LlamaForCausalLM:
    """A small model's yes / no logits: both near 40, apart by ``spread`` times
    the tiny model's own logits."""
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_llama_config(vocab_size=97))
    head = torch.nn.Linear(32, 97, bias=True)
    with torch.no_grad():
        head.weight.copy_(model.lm_head.weight)
        head.weight[YES_NO] *= spread
        head.bias.zero_()
        head.bias[YES_NO] = 40.0
    model.lm_head = head
    return model.to(torch.bfloat16).eval()


PROMPTS = [list(range(10, 30)) + [40 + i, 60 + i % 7, 80 + i % 5] for i in range(16)]


@pytest.mark.parametrize("packed", [False, True])
def test_bf16_rerank_scores_tell_every_candidate_apart(packed):
    """16 candidates of one agenda: 16 distinct yes - no scores (bf16 logits give
    a handful), each the float32 product of the model's own last hidden state."""
    model = _bf16_model()
    if packed:
        logits = packed_next_token_logits(model, [PROMPTS], YES_NO, pad_id=0)
    else:
        logits = next_token_logits(model, PROMPTS, YES_NO, pad_id=0, share_prefix=False)
    scores = logits[:, 0] - logits[:, 1]
    with torch.inference_mode():
        rounded = [
            model(input_ids=torch.tensor([p])).logits[0, -1].float() for p in PROMPTS
        ]
        hidden = [
            model.model(input_ids=torch.tensor([p])).last_hidden_state[0, -1]
            for p in PROMPTS
        ]
    old = np.array([(r[YES_NO[0]] - r[YES_NO[1]]).item() for r in rounded])
    assert len(np.unique(scores)) == len(PROMPTS) > 2 * len(np.unique(old))
    weight = model.lm_head.weight[YES_NO].detach().double()
    exact = np.array([(weight @ h.double()).numpy() for h in hidden])
    np.testing.assert_allclose(scores, exact[:, 0] - exact[:, 1], atol=0.02)


def test_bf16_continuation_logprobs_are_read_in_float32():
    """Generative grounding: log-probabilities of two-token continuations from a
    bf16 model equal float64 log-softmaxes of its own hidden states."""
    model = _bf16_model(spread=20.0)
    prompt = list(range(10, 30))
    continuations = [[3, 40 + i] for i in range(8)] + [[7, 50 + i] for i in range(8)]
    got = continuation_logprobs(model, prompt, continuations, pad_id=0)
    weight = model.lm_head.weight.detach().double()
    bias = model.lm_head.bias.detach().double()
    exact = []
    with torch.inference_mode():
        for c in continuations:
            states = model.model(input_ids=torch.tensor([prompt + c])).last_hidden_state
            logprobs = torch.log_softmax(
                states[0, -3:-1].double() @ weight.T + bias, -1
            )
            exact.append((logprobs[0, c[0]] + logprobs[1, c[1]]).item())
    np.testing.assert_allclose(got, exact, atol=0.02)

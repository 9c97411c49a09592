"""Score many continuations of one prompt with a causal LM, sharing the prompt's work.

Both LLM designs score a *set* of texts that all start with the same tokens:

* generative grounding scores every roster expert's first line
  ``Expert: <name> (ID <id>)`` after one agenda prompt;
* pointwise reranking scores ``K`` prompts ``system + agenda + candidate profile``
  that differ only in the candidate.

The shared token prefix is run once; its key/value cache is then repeated over a
batch of suffixes (``DynamicCache.batch_repeat_interleave``), so each candidate only
costs its own tokens. Suffixes are right-padded: pad tokens come after every real
token, so under the causal mask they never influence the scores that are read (the
forward passes: :mod:`expert_kedro.scoring.suffix_batches`).

Public API: :func:`common_prefix_length`, :func:`next_token_logits`,
:func:`continuation_logprobs`, :func:`token_id`, :func:`yes_no_ids`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from expert_kedro.scoring.suffix_batches import (
    batch_forward,
    last_token_logits,
    run_prefix,
)
from expert_kedro.training_data.rerank_pairs import NO, YES

logger = logging.getLogger(__name__)


def token_id(tokenizer: Any, text: str) -> int:
    """The first token id of ``text`` as it starts an assistant answer.

    Args:
        tokenizer: A Hugging Face tokenizer.
        text: E.g. ``"yes"``.

    Returns:
        The id of the first token (answers are tokenized without special tokens,
        exactly as :func:`expert_kedro.modeling.prompts.encode_pair` does).

    Raises:
        ValueError: If ``text`` tokenizes to nothing.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ValueError(f"{text!r} tokenizes to no token.")
    return int(ids[0])


def yes_no_ids(tokenizer: Any) -> tuple[int, int]:
    """The token ids whose logits a rerank score compares: ``(yes, no)``.

    A candidate's score is ``logit(yes) - logit(no)`` on the first assistant token
    (inference: :meth:`~expert_kedro.scoring.scorer.LLMScorer.yes_no_scores`;
    training's listwise loss: :mod:`expert_kedro.modeling.ranking_loss`), the
    first tokens of the answers the rerank examples are trained on.

    Args:
        tokenizer: A Hugging Face tokenizer.

    Returns:
        The first token id of ``"yes"`` and of ``"no"``.
    """
    return token_id(tokenizer, YES), token_id(tokenizer, NO)


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix shared by every sequence.

    It is capped at ``min(len) - 1`` so every sequence keeps at least one token of
    its own (its last position's logits are what gets read).

    Args:
        sequences: Token id lists (at least one, each non-empty).

    Returns:
        The shared prefix length (0 when the first tokens differ).

    Raises:
        ValueError: If there is no sequence or one is empty.
    """
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("common_prefix_length needs non-empty token sequences.")
    shortest = min(len(s) for s in sequences)
    first = sequences[0]
    length = 0
    while length < shortest - 1 and all(s[length] == first[length] for s in sequences):
        length += 1
    return length


@torch.inference_mode()
def next_token_logits(
    model: Any,
    sequences: Sequence[Sequence[int]],
    token_ids: Sequence[int],
    *,
    pad_id: int,
    batch_size: int = 16,
    share_prefix: bool = True,
) -> np.ndarray:
    """Logits of chosen tokens right after each sequence (e.g. ``yes`` / ``no``).

    Args:
        model: A causal LM (plain or peft) in eval mode.
        sequences: Full prompt token ids, one per candidate; their common prefix is
            computed once.
        token_ids: Vocabulary ids whose logits are returned.
        pad_id: Padding token id (never attended to by real tokens).
        batch_size: Suffixes per forward pass.
        share_prefix: Run the common prefix once and only the suffixes per
            candidate (fewer tokens: pays where compute is the limit, e.g. CPU);
            False runs every sequence whole in one padded batch (one forward
            pass instead of two plus a cache copy: what counts on a GPU;
            docs/benchmarks.md).

    Returns:
        ``[len(sequences), len(token_ids)]`` float32 logits.
    """
    prefix_length = common_prefix_length(sequences) if share_prefix else 0
    cache, _ = run_prefix(model, sequences[0][:prefix_length])
    rows: list[torch.Tensor] = []
    for start in range(0, len(sequences), batch_size):
        suffixes = [s[prefix_length:] for s in sequences[start : start + batch_size]]
        logits = last_token_logits(
            model, cache, prefix_length, suffixes, pad_id=pad_id, token_ids=token_ids
        )
        rows.append(logits.cpu())
    return torch.cat(rows).numpy()


@torch.inference_mode()
def continuation_logprobs(
    model: Any,
    prompt: Sequence[int],
    continuations: Sequence[Sequence[int]],
    *,
    pad_id: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Total log-probability of each continuation given one prompt.

    Tokens that every continuation shares (e.g. ``Expert:``) are folded into the
    prompt: they add the same log-probability to every candidate, so rankings are
    unchanged and their cost is paid once.

    Args:
        model: A causal LM (plain or peft) in eval mode.
        prompt: Prompt token ids (non-empty).
        continuations: Candidate token ids, each non-empty.
        pad_id: Padding token id.
        batch_size: Continuations per forward pass.

    Returns:
        ``[len(continuations)]`` float64 sums of token log-probabilities (of the
        candidate-specific tokens).

    Raises:
        ValueError: If the prompt or a continuation is empty.
    """
    if not prompt:
        raise ValueError("continuation_logprobs needs a non-empty prompt.")
    shared = common_prefix_length(continuations) if len(continuations) > 1 else 0
    prefix = list(prompt) + list(continuations[0][:shared])
    cache, first_logits = run_prefix(model, prefix)
    first_logprobs = torch.log_softmax(first_logits, dim=-1)
    totals: list[np.ndarray] = []
    for start in range(0, len(continuations), batch_size):
        suffixes = [list(c[shared:]) for c in continuations[start : start + batch_size]]
        width = max(len(s) for s in suffixes)
        batch_total = first_logprobs[torch.tensor([s[0] for s in suffixes])].cpu()
        if width > 1:
            logits = batch_forward(
                model,
                cache,
                len(prefix),
                suffixes,
                pad_id=pad_id,
                logits_to_keep=width,
            )
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1).cpu()
            targets = torch.full((len(suffixes), width - 1), 0, dtype=torch.long)
            valid = torch.zeros((len(suffixes), width - 1), dtype=torch.bool)
            for row, suffix in enumerate(suffixes):
                targets[row, : len(suffix) - 1] = torch.tensor(suffix[1:])
                valid[row, : len(suffix) - 1] = True
            token_lp = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            batch_total = batch_total + (token_lp * valid).sum(dim=1)
        totals.append(batch_total.double().numpy())
    return np.concatenate(totals)

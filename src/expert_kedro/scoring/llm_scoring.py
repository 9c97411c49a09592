"""Score many continuations of one prompt with a causal LM, sharing the prompt's work.

Both LLM designs score a *set* of texts that all start with the same tokens:

* generative grounding scores every roster expert's first line
  ``Expert: <name> (ID <id>)`` after one agenda prompt;
* pointwise reranking scores ``K`` prompts ``system + agenda + candidate profile``
  that differ only in the candidate.

The shared token prefix is run once; its key/value cache is then repeated over a
batch of suffixes (``DynamicCache.batch_repeat_interleave``), so each candidate only
costs its own tokens. Suffixes are right-padded: pad tokens come after every real
token, so under the causal mask they never influence the scores that are read.

Public API: :func:`common_prefix_length`, :func:`next_token_logits`,
:func:`continuation_logprobs`, :func:`token_id`.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

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


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _run_prefix(model: Any, prefix: Sequence[int]) -> tuple[Any, torch.Tensor | None]:
    """Run the shared prefix once: its cache and the logits after its last token."""
    if not prefix:
        return None, None
    ids = torch.tensor([list(prefix)], dtype=torch.long, device=_device(model))
    out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
    return out.past_key_values, out.logits[0, -1].float()


def _right_padded(
    suffixes: Sequence[Sequence[int]], pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """``[rows, width]`` int64 ids padded with ``pad_id`` on the right, and the mask
    of real tokens (1) against padding (0)."""
    lengths = np.fromiter(
        (len(s) for s in suffixes), dtype=np.int64, count=len(suffixes)
    )
    width = int(lengths.max())
    real = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
    ids = np.full((len(suffixes), width), pad_id, dtype=np.int64)
    # Row-major order of the True cells of ``real`` is the order of the tokens.
    ids[real.astype(bool)] = np.fromiter(
        itertools.chain.from_iterable(suffixes),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    return ids, real


def _batch_inputs(
    model: Any,
    cache: Any,
    prefix_length: int,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
) -> dict[str, Any]:
    """Forward-pass inputs of right-padded suffixes continuing the cached prefix."""
    device = _device(model)
    ids, real = _right_padded(suffixes, pad_id)
    width = ids.shape[1]
    mask = np.zeros((len(suffixes), prefix_length + width), dtype=np.int64)
    mask[:, :prefix_length] = 1
    mask[:, prefix_length:] = real
    positions = torch.arange(prefix_length, prefix_length + width, device=device)
    kwargs: dict[str, Any] = {
        # Built on the host and copied once: one row at a time was hundreds of
        # small copies (and device transfers) per batch of candidates.
        "input_ids": torch.from_numpy(ids).to(device),
        "attention_mask": torch.from_numpy(mask).to(device),
        "position_ids": positions.unsqueeze(0).expand(len(suffixes), -1),
        "use_cache": cache is not None,
    }
    if cache is not None:
        # The forward pass appends to the cache: give each batch its own copy.
        batch_cache = copy.deepcopy(cache)
        batch_cache.batch_repeat_interleave(len(suffixes))
        kwargs["past_key_values"] = batch_cache
    return kwargs


def _batch_forward(
    model: Any,
    cache: Any,
    prefix_length: int,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
    logits_to_keep: int,
) -> torch.Tensor:
    """Logits of the last ``logits_to_keep`` positions of right-padded suffixes."""
    kwargs = _batch_inputs(model, cache, prefix_length, suffixes, pad_id=pad_id)
    return model(**kwargs, logits_to_keep=logits_to_keep).logits.float()


def _body_and_head(model: Any) -> tuple[Any, Any] | None:
    """The decoder and output layer of a (peft-wrapped) causal LM whose logits are
    plainly ``head(decoder(...))``; None for heads that scale or cap logits."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(base, "config", None)
    if getattr(config, "final_logit_softcapping", None) or getattr(
        config, "logit_scale", None
    ):
        return None
    try:
        return base.get_decoder(), base.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None


def _last_token_logits(
    model: Any,
    cache: Any,
    prefix_length: int,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
) -> torch.Tensor:
    """``[len(suffixes), vocab]`` logits after each suffix's last real token.

    The output layer runs on those positions only. Asking the model for the
    positions through ``logits_to_keep`` would compute them for every row: with
    hundreds of candidates of different lengths that is a
    ``[rows, positions, vocab]`` tensor (gigabytes for a few hundred candidates,
    and most of the time of a batched rerank pass).
    """
    kwargs = _batch_inputs(model, cache, prefix_length, suffixes, pad_id=pad_id)
    last = torch.tensor([len(s) - 1 for s in suffixes])
    parts = _body_and_head(model)
    if parts is None:
        keep = torch.unique(last)
        logits = model(**kwargs, logits_to_keep=keep).logits
        column = torch.searchsorted(keep, last).to(logits.device)
        return logits[torch.arange(len(suffixes), device=logits.device), column].float()
    body, head = parts
    hidden = body(**kwargs).last_hidden_state
    rows = torch.arange(len(suffixes), device=hidden.device)
    return head(hidden[rows, last.to(hidden.device)]).float()


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
    cache, _ = _run_prefix(model, sequences[0][:prefix_length])
    wanted = torch.tensor(list(token_ids), dtype=torch.long)
    rows: list[torch.Tensor] = []
    for start in range(0, len(sequences), batch_size):
        suffixes = [s[prefix_length:] for s in sequences[start : start + batch_size]]
        logits = _last_token_logits(
            model, cache, prefix_length, suffixes, pad_id=pad_id
        )
        rows.append(logits[:, wanted.to(logits.device)].cpu())
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
    cache, first_logits = _run_prefix(model, prefix)
    first_logprobs = torch.log_softmax(first_logits, dim=-1)
    totals: list[np.ndarray] = []
    for start in range(0, len(continuations), batch_size):
        suffixes = [list(c[shared:]) for c in continuations[start : start + batch_size]]
        width = max(len(s) for s in suffixes)
        batch_total = first_logprobs[torch.tensor([s[0] for s in suffixes])].cpu()
        if width > 1:
            logits = _batch_forward(
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

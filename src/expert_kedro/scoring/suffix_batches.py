"""Forward passes of right-padded suffixes that continue one cached shared prefix.

The building blocks of :mod:`expert_kedro.scoring.llm_scoring`: the shared token
prefix is run once (:func:`run_prefix`); its key/value cache is then repeated over a
batch of suffixes (``DynamicCache.batch_repeat_interleave``, :func:`batch_inputs`),
so each candidate only costs its own tokens. Suffixes are right-padded: pad tokens
come after every real token, so under the causal mask they never influence the
scores that are read (:func:`batch_forward`, :func:`last_token_logits`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from expert_kedro.scoring.output_head import body_and_head, head_logits


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def run_prefix(model: Any, prefix: Sequence[int]) -> tuple[Any, torch.Tensor | None]:
    """Run the shared prefix once: its cache and the logits after its last token."""
    if not prefix:
        return None, None
    ids = torch.tensor([list(prefix)], dtype=torch.long, device=_device(model))
    out, logits = _last_logits(model, {"input_ids": ids, "use_cache": True}, 1)
    return out.past_key_values, logits[0, -1]


def _last_logits(
    model: Any, kwargs: dict[str, Any], keep: int
) -> tuple[Any, torch.Tensor]:
    """The forward pass's output and float32 logits of its last ``keep`` positions
    (the head in float32 where the model's logits are plainly the head's output)."""
    parts = body_and_head(model)
    if parts is None:
        out = model(**kwargs, logits_to_keep=keep)
        return out, out.logits.float()
    body, head = parts
    out = body(**kwargs)
    return out, head_logits(out.last_hidden_state[:, -keep:], head)


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


def batch_inputs(
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


def batch_forward(
    model: Any,
    cache: Any,
    prefix_length: int,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
    logits_to_keep: int,
) -> torch.Tensor:
    """Logits of the last ``logits_to_keep`` positions of right-padded suffixes."""
    kwargs = batch_inputs(model, cache, prefix_length, suffixes, pad_id=pad_id)
    return _last_logits(model, kwargs, logits_to_keep)[1]


def last_token_logits(
    model: Any,
    cache: Any,
    prefix_length: int,
    suffixes: Sequence[Sequence[int]],
    *,
    pad_id: int,
    token_ids: Sequence[int] | None = None,
) -> torch.Tensor:
    """``[len(suffixes), len(token_ids)]`` float32 logits (None: the vocabulary)
    after each suffix's last real token.

    The output layer runs on those positions only. Asking the model for the
    positions through ``logits_to_keep`` would compute them for every row: with
    hundreds of candidates of different lengths that is a
    ``[rows, positions, vocab]`` tensor (gigabytes for a few hundred candidates,
    and most of the time of a batched rerank pass); it runs in float32
    (:func:`~expert_kedro.scoring.output_head.head_logits`).
    """
    kwargs = batch_inputs(model, cache, prefix_length, suffixes, pad_id=pad_id)
    last = torch.tensor([len(s) - 1 for s in suffixes])
    parts = body_and_head(model)
    if parts is None:
        keep = torch.unique(last)
        logits = model(**kwargs, logits_to_keep=keep).logits
        column = torch.searchsorted(keep, last).to(logits.device)
        logits = logits[torch.arange(len(suffixes), device=logits.device), column]
        return (logits if token_ids is None else logits[:, list(token_ids)]).float()
    body, head = parts
    hidden = body(**kwargs).last_hidden_state
    rows = torch.arange(len(suffixes), device=hidden.device)
    return head_logits(hidden[rows, last.to(hidden.device)], head, token_ids)

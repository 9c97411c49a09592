"""Rerank scoring in packed rows: each agenda's prompt once, no padding.

A rerank pass scores the ``K`` candidate prompts of many agendas. Padded, every
prompt runs whole and is padded to the longest, and each agenda's prompt is repeated
``K`` times. Packed, a pass is one row ``[agenda_a, block_a1, ..., block_aK,
agenda_b, ...]`` run through the ``varlen`` attention with a
:class:`~expert_kedro.modeling.shared_prefix_attention.SharedPrefixLayout`: only the
real tokens, each agenda once, no mask, no padding, one forward pass.

Two guards keep a packed score equal to a padded one. Every pass checks that the
model's attention ran the layout (a model whose attention ignores it would let a
candidate see the others); on CUDA, where kernels differ from the per-segment
reference, the first call of each model also compares packed and padded logits
on one agenda. A model that fails either is scored padded from then on, with a
warning.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from expert_kedro.modeling.shared_prefix_attention import (
    LAYOUT_KWARG,
    SharedPrefixLayout,
)
from expert_kedro.modeling.varlen_attention import VARLEN, register_varlen_attention
from expert_kedro.scoring.llm_scoring import common_prefix_length, next_token_logits
from expert_kedro.scoring.output_head import body_and_head, head_logits

logger = logging.getLogger(__name__)


class LayoutIgnoredError(RuntimeError):
    """The model's attention never ran the packed row's layout."""


# Models checked against the padded path: True = packed scoring agrees.
_VERIFIED: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_WARNED: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _base(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def use_varlen_attention(model: Any) -> None:
    """Switch a (peft-wrapped) transformers model to the ``varlen`` attention.

    ``varlen`` runs plain batches (padded, cached) as SDPA does, so the model keeps
    serving every other path unchanged.
    """
    base = _base(model)
    if getattr(base.config, "_attn_implementation", None) != VARLEN:
        register_varlen_attention()
        base.set_attn_implementation(VARLEN)


def _passes(
    groups: Sequence[Sequence[Sequence[int]]], batch_size: int
) -> list[list[Sequence[Sequence[int]]]]:
    """Groups split into pieces of at most ``batch_size`` prompts, then packed into
    passes of at most ``batch_size`` prompts (group order kept)."""
    pieces = [
        group[start : start + batch_size]
        for group in groups
        for start in range(0, len(group), batch_size)
    ]
    passes: list[list[Sequence[Sequence[int]]]] = []
    count = batch_size
    for piece in pieces:
        if count + len(piece) > batch_size:
            passes.append([])
            count = 0
        passes[-1].append(piece)
        count += len(piece)
    return passes


def _pass_logits(
    model: Any,
    pieces: Sequence[Sequence[Sequence[int]]],
    wanted: torch.Tensor | None,
) -> torch.Tensor:
    """Logits after every prompt of one packed pass (``wanted`` ids, None: all),
    prompt order."""
    device = next(model.parameters()).device
    shape, tokens = [], []
    for piece in pieces:
        prefix = common_prefix_length(piece) if len(piece) > 1 else 0
        shape.append((prefix, [len(s) - prefix for s in piece]))
        tokens.append(piece[0][:prefix])
        tokens += [s[prefix:] for s in piece]
    layout = SharedPrefixLayout.build(shape, device)
    ids = torch.as_tensor(
        np.fromiter(
            (t for part in tokens for t in part),
            dtype=np.int64,
            count=layout.row_length,
        )
    ).to(device)
    inputs = {
        "input_ids": ids[None],
        "position_ids": layout.positions[None],
        "use_cache": False,
        LAYOUT_KWARG: layout,
    }
    parts = body_and_head(model)
    if parts is None:
        logits = model(**inputs, logits_to_keep=layout.last_tokens).logits[0]
        if wanted is not None:
            logits = logits[:, wanted.to(device)]
        logits = logits.float()
    else:
        body, head = parts
        hidden = body(**inputs).last_hidden_state[0, layout.last_tokens]
        logits = head_logits(hidden, head, None if wanted is None else wanted.tolist())
    if layout.attention_calls == 0:
        raise LayoutIgnoredError(type(model).__name__)
    return logits.cpu()


# Largest packed-vs-padded difference accepted: root-mean-square over the
# vocabulary of the logit difference, in standard deviations of the prompt's
# logits. Kernels round differently in bf16, which moves logits by a small fraction
# of their spread, while a candidate that sees the others, or no agenda, moves them
# by about their whole spread (the tests check both sides; the differences measured
# on GPUs are in docs/benchmarks.md).
TOLERANCE = 0.25


def packed_check(
    model: Any, group: Sequence[Sequence[int]], pad_id: int
) -> dict[str, float | bool]:
    """Packed logits over the whole vocabulary against padded ones, on one agenda.

    Returns:
        ``rms`` and ``max`` of the difference in standard deviations of the padded
        logits (worst prompt), and ``ok`` (``rms <= TOLERANCE``).
    """
    try:
        packed = _pass_logits(model, [group], None).numpy()
    except LayoutIgnoredError:
        logger.info("Packed rerank scoring: the model's attention ignores the layout.")
        return {"rms": float("inf"), "max": float("inf"), "ok": False}
    padded = next_token_logits(
        model,
        group,
        range(packed.shape[1]),
        pad_id=pad_id,
        batch_size=len(group),
        share_prefix=False,
    )
    spread = padded.std(axis=1)
    diff = packed - padded
    rms = float((np.sqrt((diff**2).mean(axis=1)) / spread).max())
    largest = float((np.abs(diff).max(axis=1) / spread).max())
    logger.info(
        "Packed rerank scoring vs padded on one agenda: difference %.3g standard "
        "deviations of the logits (rms; largest %.3g; limit %.3g).",
        rms,
        largest,
        TOLERANCE,
    )
    return {"rms": rms, "max": largest, "ok": rms <= TOLERANCE}


@torch.inference_mode()
def packed_next_token_logits(
    model: Any,
    groups: Sequence[Sequence[Sequence[int]]],
    token_ids: Sequence[int],
    *,
    pad_id: int,
    batch_size: int = 16,
) -> np.ndarray:
    """Logits of chosen tokens after each prompt, prompts of a group sharing work.

    Args:
        model: A causal LM (plain or peft) in eval mode; switched to the ``varlen``
            attention.
        groups: Per agenda, its candidates' prompt token ids (they share the
            agenda's tokens; the shared prefix is found, not assumed).
        token_ids: Vocabulary ids whose logits are returned (``yes``, ``no``).
        pad_id: Padding id of the padded path (the first call's check and the
            fallback).
        batch_size: Prompts per forward pass (a group larger than that is split).

    Returns:
        ``[total prompts, len(token_ids)]`` float32 logits, groups in order.
    """
    groups = [group for group in groups if group]
    sequences = [s for group in groups for s in group]
    if not sequences:
        return np.zeros((0, len(token_ids)), dtype=np.float32)
    use_varlen_attention(model)
    if model not in _VERIFIED and next(model.parameters()).is_cuda:
        _VERIFIED[model] = bool(packed_check(model, groups[0], pad_id)["ok"])
    if _VERIFIED.get(model, True):
        wanted = torch.tensor(list(token_ids), dtype=torch.long)
        try:
            rows = [
                _pass_logits(model, pieces, wanted)
                for pieces in _passes(groups, batch_size)
            ]
            return torch.cat(rows).numpy()
        except LayoutIgnoredError:
            _VERIFIED[model] = False
    if not _WARNED.get(model):
        _WARNED[model] = True
        logger.warning(
            "Packed rerank scoring is off for this model (its attention ignored "
            "the shared-prefix layout, or its logits differed from padded scoring: "
            "see the log above): scoring padded. Set recommender.packing: false "
            "to silence this."
        )
    return next_token_logits(
        model,
        sequences,
        token_ids,
        pad_id=pad_id,
        batch_size=batch_size,
        share_prefix=False,
    )

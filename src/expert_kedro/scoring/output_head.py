"""The LM head applied in float32 to the vocabulary rows a score reads.

A model that runs in bf16 (the ``gpu`` recipe) returns its logits rounded to bf16:
8 significant bits, a step of 0.25 for logits between 32 and 64, where a small
model's ``yes`` / ``no`` logits lie. ``logit(yes) - logit(no)`` then takes a handful
of values per agenda and most of its candidates tie, whatever the adapter learned.
The hidden states are bf16 too, but a float32 dot product over their width is no
longer on a grid: reading the head's rows for the wanted tokens and multiplying in
float32 keeps the scores continuous, at the cost of two rows instead of the
vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

# Vocabulary rows cast to float32 at once when every logit is asked for: a
# 128k-token head (Llama 3) is never copied whole.
VOCAB_SLICE = 8192


def body_and_head(model: Any) -> tuple[Any, Any] | None:
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


def head_logits(
    hidden: torch.Tensor, head: Any, token_ids: Sequence[int] | None = None
) -> torch.Tensor:
    """Logits of ``token_ids`` (None: the whole vocabulary) from last hidden states.

    Args:
        hidden: ``[..., width]`` last hidden states (after the final norm).
        head: The model's output embedding. A plain ``torch.nn.Linear`` with a
            floating weight is applied in float32; any other head (quantized,
            wrapped) runs as the model runs it.
        token_ids: Vocabulary ids whose logits are wanted, in this order.

    Returns:
        ``[..., len(token_ids)]`` float32 logits (gradients flow to ``hidden``).
    """
    weight = getattr(head, "weight", None)
    floating = weight is not None and weight.is_floating_point()
    if type(head) is not torch.nn.Linear or not floating:
        logits = head(hidden.to(weight.dtype) if floating else hidden)
        return (logits if token_ids is None else logits[..., list(token_ids)]).float()
    states = hidden.float()
    if token_ids is None:
        rows = [
            torch.arange(start, min(start + VOCAB_SLICE, weight.shape[0]))
            for start in range(0, weight.shape[0], VOCAB_SLICE)
        ]
    else:
        rows = [torch.as_tensor(list(token_ids), dtype=torch.long)]
    parts = []
    for row_ids in rows:
        index = row_ids.to(weight.device)
        part = states @ weight[index].float().T
        if head.bias is not None:
            part = part + head.bias[index].float()
        parts.append(part)
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

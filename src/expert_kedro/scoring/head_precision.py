"""The output layer in float32 while the reranker reads its yes/no logits.

A model computing in bfloat16 rounds every logit to 8 significant bits: at the
magnitude of a next-token logit (10-30) one step is 0.06-0.125, so
``logit(yes) - logit(no)`` takes a few dozen distinct values and candidates whose
scores differ by less than a step tie or swap with the batch layout (padded, packed,
shared prefix). A fine-tuned reranker on clear-cut data separates candidates by
several steps; on real data its margins are often smaller than one, and the rounding,
not the model, then orders them. Computing only the output layer in float32 (the
last hidden state times the output embeddings, accumulated and returned in float32)
costs one small matrix product per forward pass and leaves the rest of the model in
its dtype.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def float32_output_layer(model: Any) -> Iterator[None]:
    """Within the block, ``model``'s output layer computes and returns float32.

    A no-op for a model whose output layer is already float32 or is not a plain
    ``Linear`` (then its logits are used as they come). The float32 copy of the
    weights is taken on entry, so a model being trained is read as it is now.

    Args:
        model: A transformers causal LM or its peft wrapper.
    """
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    if not isinstance(head, torch.nn.Linear) or head.weight.dtype == torch.float32:
        yield
        return
    weight = head.weight.detach().float()
    bias = None if head.bias is None else head.bias.detach().float()

    def float32_forward(
        module: torch.nn.Module, inputs: tuple[Any, ...], output: torch.Tensor
    ) -> torch.Tensor:
        return torch.nn.functional.linear(inputs[0].float(), weight, bias)

    handle = head.register_forward_hook(float32_forward)
    try:
        yield
    finally:
        handle.remove()

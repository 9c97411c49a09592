"""Scoring an exported model with plain transformers, as a serving team would.

Imports nothing from ``expert_kedro``: it reads the merged folder with
``AutoModelForCausalLM`` / ``AutoTokenizer`` only and recomputes the rerank score
from its definition (``logit("yes") - logit("no")`` on the next token after the
chat-template prompt, tokenized without adding special tokens), one prompt at a
time so no padding is involved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def yes_no_scores(
    folder: str, system: str, users: Sequence[str]
) -> tuple[list[float], float]:
    """Rerank scores of ``users`` with the model in ``folder``, in its saved dtype.

    Returns:
        The scores, and the largest ``|logit|`` of the yes/no tokens read (what a
        dtype's rounding of those logits is relative to).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    yes = tokenizer("yes", add_special_tokens=False).input_ids[0]
    no = tokenizer("no", add_special_tokens=False).input_ids[0]
    scores, largest = [], 0.0
    for user in users:
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, -1].float()
        scores.append(float(logits[yes] - logits[no]))
        largest = max(largest, float(logits[[yes, no]].abs().max()))
    return scores, largest


def ulp(value: float, mantissa_bits: int) -> float:
    """Unit in the last place of a float with ``mantissa_bits`` explicit bits at
    ``|value|`` (7 for bfloat16, 23 for float32)."""
    exponent = math.floor(math.log2(max(abs(value), 2.0**-126)))
    return 2.0 ** (exponent - mantissa_bits)

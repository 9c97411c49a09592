"""The README of an exported model: the card in words, with runnable code.

``model_card.json`` serves programs; ``README.md`` serves the people who wire the
model into a serving stack. Its Python snippet is generated from the card (dtype,
chat template or fallback layout), and the tests run it against real exports, so
the documentation cannot drift from what the model expects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SNIPPET = """\
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = "merged"  # this export's merged/ folder
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.{dtype}).eval()
YES = tokenizer("yes", add_special_tokens=False).input_ids[0]
NO = tokenizer("no", add_special_tokens=False).input_ids[0]


def render(system, user):
{render}


def rerank_scores(system, user_turns):
    \"\"\"logit(yes) - logit(no) after each prompt: higher = better match.\"\"\"
    texts = [render(system, user) for user in user_turns]
    # Left padding: every prompt ends at the last position, where the score is read.
    batch = tokenizer(
        texts,
        add_special_tokens=False,
        padding=True,
        padding_side="left",
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model.get_decoder()(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).last_hidden_state[:, -1]
        # The output layer's yes/no rows in float32: a bf16 model's logits come out
        # rounded to bf16, which ties candidates whose scores differ.
        rows = model.get_output_embeddings().weight[[YES, NO]].float()
        logits = hidden.float() @ rows.T
    return (logits[:, 0] - logits[:, 1]).tolist()
"""
_README_PROMPT_KEYS = (
    "mode",
    "tokenize",
    "system_prompt",
    "user_turn",
    "example_user_turn",
)
_RENDER_CHAT = """\
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )"""
_RENDER_FALLBACK = """\
    template = {template}
    return template.format(bos=tokenizer.bos_token or "", system=system, user=user)"""


def snippet(card: Mapping[str, Any]) -> str:
    """Plain-transformers code that loads the merged folder and scores prompts."""
    prompt = card["prompt"]
    if prompt["format"] == "chat_template":
        render = _RENDER_CHAT
    else:
        # JSON strings are Python string literals (double-quoted, escaped).
        template = json.dumps(prompt["fallback_template"])
        render = _RENDER_FALLBACK.format(template=template)
    return SNIPPET.format(dtype=card["model"]["dtype"], render=render)


README_TEMPLATE = """\
# Expert recommender (merged LoRA)

{description}

- `merged/`: a standard `{architecture}` checkpoint in
  {dtype}: `AutoModelForCausalLM.from_pretrained("merged")`; vLLM
  and TGI serve it like any {model_type} model.
{adapter_line}- `model_card.json`: everything below, for programs.

Base model: `{base_model}`. Adapter version: `{version}`.

## Prompt

Design: **{mode}**. Render the conversation with the {template}
(system turn, user turn, generation prompt) and tokenize it with
{tokenize}.

System prompt:

```text
{system_prompt}
```

User turn: {user_turn}

Example user turn (invented expert):

```text
{example_user_turn}
```

## Score

{read}; {use}

## Plain transformers

{usage}

```python
{snippet}```
"""


def render_readme(card: Mapping[str, Any]) -> str:
    """The card as Markdown: what the model is, how to prompt it, how to score."""
    prompt, model = card["prompt"], card["model"]
    chat = prompt["format"] == "chat_template"
    rerank = prompt["mode"] == "rerank"
    return README_TEMPLATE.format(
        description=card["description"],
        architecture=model["architectures"][0],
        dtype=model["dtype"],
        model_type=model["model_type"],
        adapter_line="- `adapter/`: the peft LoRA adapter, for stacks that serve "
        "adapters on a shared base model.\n"
        if card["folders"]["adapter"]
        else "",
        base_model=json.dumps(card["base_model"]),
        version=card["adapter"]["version"],
        template="tokenizer's chat template"
        if chat
        else "fallback template in model_card.json",
        usage="`rerank_scores(system_prompt, user_turns)` scores one agenda's "
        "candidates."
        if rerank
        else "Score each roster expert's first line as described above.",
        snippet=snippet(card),
        **{key: prompt[key] for key in _README_PROMPT_KEYS},
        **{key: card["score"][key] for key in ("read", "use")},
    )

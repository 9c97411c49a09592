"""The model card of an exported recommender: what a serving stack must reproduce.

A merged checkpoint loads anywhere, but it only recommends well when it is asked
exactly as in training: the same system prompt, the same user-turn layout, the same
special tokens, and the score read from the same place. The card records these
facts (``model_card.json``, for programs) and explains them with a runnable
plain-transformers snippet (``README.md``, for people), so a serving team never
needs this project's code to call the model correctly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.modeling.prompts import (
    FALLBACK_TEMPLATE,
    PromptStyle,
    render_prompt,
    uses_chat_template,
)
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.scoring.llm_scoring import token_id
from expert_kedro.training_data.formatting import format_agenda, format_expert_line
from expert_kedro.training_data.rerank_pairs import NO, YES, format_rerank_input

# An invented agenda and expert: the example shows the layout, never project data.
EXAMPLE_AGENDA = (
    "How will battery-grade lithium prices develop in Europe over the next two years?",
    "Which refiners are expanding capacity in Germany?",
)
EXAMPLE_PROFILE: dict[str, Any] = {
    "expert_id": 4242,
    "expert_name": "Jane Example",
    "expert_headline": "Former Head of Procurement, battery materials",
    "expert_location": "Berlin, Germany",
    "expert_industry": "Chemicals",
    "expert_skills": ["lithium", "supply contracts", "refining"],
    "expert_bio": "Twenty years of sourcing battery raw materials in Europe.",
    "expert_work_summary": "Procurement lead at a cathode producer (2012-2024).",
}
EXAMPLE_HISTORY = ("What drives lithium hydroxide contract prices?",)

SNIPPET_CHAT = """\
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
        logits = model(
            input_ids=batch.input_ids, attention_mask=batch.attention_mask
        ).logits[:, -1].float()
    return (logits[:, YES] - logits[:, NO]).tolist()
"""
_RENDER_CHAT = """\
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )"""
_RENDER_FALLBACK = """\
    template = {template!r}
    return template.format(bos=tokenizer.bos_token or "", system=system, user=user)"""


def served_mode(adapter: LoRAAdapterHandle, settings: RecommenderSettings) -> str:
    """The design the adapter was trained for (recorded), else the configured one."""
    info = adapter.training_info or {}
    recorded = info.get("recommender")
    if isinstance(recorded, Mapping) and recorded.get("mode"):
        return str(recorded["mode"])
    return str(info.get("mode") or settings.mode)


def _rerank_prompt(
    tokenizer: Any, style: PromptStyle, layout: Mapping[str, Any], system: str
) -> dict[str, Any]:
    history = EXAMPLE_HISTORY if layout["history_questions"] else ()
    user = format_rerank_input(
        EXAMPLE_AGENDA,
        EXAMPLE_PROFILE,
        history,
        region=bool(layout["candidate_region"]),
        agenda_region=layout["agenda_region"],
    )
    return {
        "system_prompt": system,
        "rerank_layout": dict(layout),
        "user_turn": (
            "'Agenda:' and the numbered questions, a blank line, 'Candidate "
            "expert:', the profile ('Expert: <name> (ID <id>)', then Headline, "
            "Location, Industry, Skills, Bio, Work history lines), the 'Region:' "
            "line when candidate_region, the 'Agenda region:' line when "
            "agenda_region, then up to history_questions questions of the expert's "
            "past projects under 'Questions from this expert's past projects:'."
        ),
        "example_user_turn": user,
        "example_prompt": render_prompt(tokenizer, system, user, style),
    }


def _score(tokenizer: Any, mode: str) -> dict[str, Any]:
    if mode == "rerank":
        return {
            "read": "logit(yes) - logit(no) of the next token after the prompt",
            "yes_token_id": token_id(tokenizer, YES),
            "no_token_id": token_id(tokenizer, NO),
            "use": "rank one agenda's candidates by it (higher = better match); "
            "the project fuses it with a retriever's score.",
        }
    return {
        "read": "sum of the log-probabilities of the tokens of 'Expert: <name> "
        "(ID <id>)' + newline after the prompt, for every roster expert",
        "example_line": format_expert_line(
            EXAMPLE_PROFILE["expert_name"], EXAMPLE_PROFILE["expert_id"]
        ),
        "use": "rank the roster by it (higher = better match).",
    }


def build_model_card(  # noqa: PLR0913 - one argument per fact the card records
    *,
    tokenizer: Any,
    base_model: BaseModelHandle,
    adapter: LoRAAdapterHandle,
    facts: Mapping[str, Any],
    settings: RecommenderSettings,
    generative_system: str,
    with_adapter: bool,
) -> dict[str, Any]:
    """The JSON model card of an export.

    Args:
        tokenizer: The exported tokenizer (renders the example prompt).
        base_model: ``base_model`` handle (its source is recorded).
        adapter: ``lora_adapter`` handle (version, config, training info).
        facts: ``modeling.export.model_facts`` of the merged model.
        settings: Recommender settings (system prompt, rerank layout fallback).
        generative_system: System prompt of the generative pairs.
        with_adapter: Whether the export holds the peft adapter too.

    Returns:
        Sources, training facts, the expected prompt layout and how the score is
        read.
    """
    info = adapter.training_info or {}
    style: PromptStyle = info.get("prompt_style", "auto")
    mode = served_mode(adapter, settings)
    chat = uses_chat_template(tokenizer, style)
    if mode == "rerank":
        recorded = info.get("recommender")
        layout = dict(settings.rerank_layout())
        if isinstance(recorded, Mapping):
            layout.update({k: recorded[k] for k in layout if k in recorded})
        layout.pop("mode", None)
        prompt = _rerank_prompt(tokenizer, style, layout, settings.rerank_system_prompt)
    else:
        user = format_agenda(EXAMPLE_AGENDA)
        prompt = {
            "system_prompt": generative_system,
            "user_turn": "'Agenda:' and the numbered questions.",
            "example_user_turn": user,
            "example_prompt": render_prompt(tokenizer, generative_system, user, style),
        }
    prompt = {
        "mode": mode,
        "format": "chat_template" if chat else "fallback",
        **({} if chat else {"fallback_template": FALLBACK_TEMPLATE}),
        "tokenize": "add_special_tokens=False (the rendered prompt already holds "
        "every special token)",
        **prompt,
    }
    keys = ("peft_type", "r", "lora_alpha", "target_modules", "task_type")
    return {
        "description": "Expert recommender: a base causal LM with its fine-tuned "
        "LoRA adapter merged in, plus the adapter itself.",
        "folders": {"merged": "merged", "adapter": "adapter" if with_adapter else None},
        "model": dict(facts),
        "base_model": dict(base_model.source),
        "adapter": {
            "version": adapter.version,
            **{k: adapter.adapter_config.get(k) for k in keys},
        },
        "training_info": info,
        "prompt": prompt,
        "score": _score(tokenizer, mode),
    }


def snippet(card: Mapping[str, Any]) -> str:
    """Plain-transformers code that loads the merged folder and scores prompts."""
    prompt = card["prompt"]
    if prompt["format"] == "chat_template":
        render = _RENDER_CHAT
    else:
        render = _RENDER_FALLBACK.format(template=prompt["fallback_template"])
    return SNIPPET_CHAT.format(dtype=card["model"]["dtype"], render=render)


def render_readme(card: Mapping[str, Any]) -> str:
    """The card as Markdown: what the model is, how to prompt it, how to score."""
    prompt, score = card["prompt"], card["score"]
    adapter_line = (
        "- `adapter/`: the peft LoRA adapter, for stacks that serve adapters on a "
        "shared base model.\n"
        if card["folders"]["adapter"]
        else ""
    )
    template = (
        "tokenizer's chat template"
        if prompt["format"] == "chat_template"
        else "fallback template in model_card.json"
    )
    usage = (
        "`rerank_scores(system_prompt, user_turns)` scores one agenda's candidates."
        if prompt["mode"] == "rerank"
        else "Score each roster expert's first line as described above."
    )
    return f"""# Expert recommender (merged LoRA)

{card["description"]}

- `merged/`: a standard `{card["model"]["architectures"][0]}` checkpoint in
  {card["model"]["dtype"]}: `AutoModelForCausalLM.from_pretrained("merged")`; vLLM
  and TGI serve it like any {card["model"]["model_type"]} model.
{adapter_line}- `model_card.json`: everything below, for programs.

Base model: `{json.dumps(card["base_model"])}`. Adapter version:
`{card["adapter"]["version"]}`.

## Prompt

Design: **{prompt["mode"]}**. Render the conversation with the {template}
(system turn, user turn, generation prompt) and tokenize it with
{prompt["tokenize"]}.

System prompt:

```text
{prompt["system_prompt"]}
```

User turn: {prompt["user_turn"]}

Example user turn (invented expert):

```text
{prompt["example_user_turn"]}
```

## Score

{score["read"]}; {score["use"]}

## Plain transformers

{usage}

```python
{snippet(card)}```
"""

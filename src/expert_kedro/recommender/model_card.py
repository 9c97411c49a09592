"""The model card of an exported recommender: what a serving stack must reproduce.

A merged checkpoint loads anywhere, but it only recommends well when it is asked
exactly as in training: the same system prompt, the same user-turn layout, the same
special tokens, and the score read from the same place. The card records these
facts (``model_card.json``, for programs) and explains them with a runnable
plain-transformers snippet (``README.md``, for people), so a serving team never
needs this project's code to call the model correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.modeling.prompts import (
    FALLBACK_TEMPLATE,
    PromptStyle,
    render_prompt,
    uses_chat_template,
)
from expert_kedro.recommender.settings import RecommenderSettings, recorded_layout
from expert_kedro.scoring.llm_scoring import yes_no_ids
from expert_kedro.training_data.activity import activity_line
from expert_kedro.training_data.formatting import format_agenda, format_expert_line
from expert_kedro.training_data.rerank_pairs import format_rerank_input

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
    window = int(layout.get("candidate_activity") or 0)
    user = format_rerank_input(
        EXAMPLE_AGENDA,
        EXAMPLE_PROFILE,
        history,
        region=bool(layout["candidate_region"]),
        agenda_region=layout["agenda_region"],
        activity=activity_line(3, 41, window) if window else None,
    )
    return {
        "system_prompt": system,
        "rerank_layout": dict(layout),
        "user_turn": (
            "'Agenda:' and the numbered questions, a blank line, 'Candidate "
            "expert:', the profile ('Expert: <name> (ID <id>)', the 'Activity:' "
            "line (bookings among the last candidate_activity projects before the "
            "agenda, and in all) when candidate_activity, then Headline, Location, "
            "Industry, Skills, Bio, Work history lines), the 'Region:' line when "
            "candidate_region, the 'Agenda region:' line when agenda_region, then "
            "up to history_questions questions of the expert's past projects under "
            "'Questions from this expert's past projects:'."
        ),
        "example_user_turn": user,
        "example_prompt": render_prompt(tokenizer, system, user, style),
    }


def _score(tokenizer: Any, mode: str) -> dict[str, Any]:
    if mode == "rerank":
        yes, no = yes_no_ids(tokenizer)
        return {
            "read": "logit(yes) - logit(no) of the next token after the prompt",
            "yes_token_id": yes,
            "no_token_id": no,
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


def _prompt(
    tokenizer: Any,
    info: Mapping[str, Any],
    mode: str,
    settings: RecommenderSettings,
    generative_system: str,
) -> dict[str, Any]:
    style: PromptStyle = info.get("prompt_style", "auto")
    chat = uses_chat_template(tokenizer, style)
    if mode == "rerank":
        recorded = info.get("recommender")
        layout = dict(settings.rerank_layout())
        if isinstance(recorded, Mapping):
            recorded = recorded_layout(recorded)
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
    return {
        "mode": mode,
        "format": "chat_template" if chat else "fallback",
        **({} if chat else {"fallback_template": FALLBACK_TEMPLATE}),
        "tokenize": "add_special_tokens=False (the rendered prompt already holds "
        "every special token)",
        **prompt,
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
        Sources, training facts, the expected prompt layout (the layout the
        adapter recorded, else the configured one) and how the score is read.
    """
    info = adapter.training_info or {}
    mode = served_mode(adapter, settings)
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
        "prompt": _prompt(tokenizer, info, mode, settings, generative_system),
        "score": _score(tokenizer, mode),
    }

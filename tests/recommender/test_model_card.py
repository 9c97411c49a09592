"""The model card says how to prompt and score the exported model, in both prompt
formats and both designs, with the layout the adapter was trained on."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.modeling.prompts import render_prompt
from expert_kedro.recommender.model_card import build_model_card
from expert_kedro.recommender.model_card_readme import render_readme, snippet
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.rerank_pairs import HISTORY_HEADER, REGION_LABEL

GENERATIVE_SYSTEM = "Recommend the single best-matching expert."
FACTS = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}


def _card(tokenizer: Any, training_info: dict[str, Any]) -> dict[str, Any]:
    return build_model_card(
        tokenizer=tokenizer,
        base_model=BaseModelHandle("/base", {"name_or_path": "/base"}),
        adapter=LoRAAdapterHandle(
            "/adapter", {"r": 8}, "/base", training_info, version="v1"
        ),
        facts={**FACTS, "dtype": "bfloat16"},
        settings=RecommenderSettings(),
        generative_system=GENERATIVE_SYSTEM,
        with_adapter=True,
    )


def _snippet_render(card: dict[str, Any], tokenizer: Any):
    """The snippet's ``render`` function alone (the rest loads a model)."""
    tree = ast.parse(snippet(card))
    render = next(n for n in tree.body if getattr(n, "name", "") == "render")
    namespace = {"tokenizer": tokenizer}
    exec(compile(ast.Module([render], []), "snippet", "exec"), namespace)  # noqa: S102
    return namespace["render"]


@pytest.mark.parametrize("style", ["auto", "fallback"])
def test_snippet_renders_the_training_prompt(chat_tokenizer, style: str):
    card = _card(chat_tokenizer, {"prompt_style": style, "mode": "rerank"})
    prompt = card["prompt"]
    assert prompt["format"] == ("chat_template" if style == "auto" else "fallback")
    assert ("fallback_template" in prompt) == (style == "fallback")
    system, user = prompt["system_prompt"], prompt["example_user_turn"]
    expected = render_prompt(chat_tokenizer, system, user, style)
    assert prompt["example_prompt"] == expected
    assert _snippet_render(card, chat_tokenizer)(system, user) == expected


def test_score_tokens_are_the_scorers(chat_tokenizer):
    score = _card(chat_tokenizer, {"mode": "rerank"})["score"]
    assert score["yes_token_id"] == chat_tokenizer("yes")["input_ids"][0]
    assert score["no_token_id"] == chat_tokenizer("no")["input_ids"][0]
    assert score["yes_token_id"] != score["no_token_id"]


def test_recorded_layout_wins_over_the_configured_one(chat_tokenizer):
    recorded = {
        "mode": "rerank",
        "history_questions": 0,
        "candidate_region": False,
        "agenda_region": False,
    }
    prompt = _card(chat_tokenizer, {"recommender": recorded})["prompt"]
    assert prompt["rerank_layout"] == {
        "history_questions": 0,
        "candidate_region": False,
        "agenda_region": False,
        "candidate_activity": 0,  # not recorded: trained without the line
    }
    assert f"\n{REGION_LABEL}:" not in prompt["example_user_turn"]
    assert "\nActivity:" not in prompt["example_user_turn"]
    active = {"recommender": {**recorded, "candidate_activity": 50}}
    turn = _card(chat_tokenizer, active)["prompt"]["example_user_turn"]
    assert "\nActivity: 3 of the last 50 projects before this one, 41 in all" in turn
    assert HISTORY_HEADER not in prompt["example_user_turn"]
    configured = _card(chat_tokenizer, {"mode": "rerank"})["prompt"]
    assert configured["rerank_layout"]["history_questions"] == 4
    assert HISTORY_HEADER in configured["example_user_turn"]


def test_generative_adapter_gets_the_generative_prompt(chat_tokenizer):
    card = _card(chat_tokenizer, {"mode": "generative"})
    assert card["prompt"]["mode"] == "generative"
    assert card["prompt"]["system_prompt"] == GENERATIVE_SYSTEM
    assert "rerank_layout" not in card["prompt"]
    assert card["score"]["example_line"] == "Expert: Jane Example (ID 4242)"
    assert "**generative**" in render_readme(card)


def test_readme_names_sources_and_layout(chat_tokenizer):
    card = _card(chat_tokenizer, {"mode": "rerank"})
    readme = render_readme(card)
    assert "`LlamaForCausalLM`" in readme and "`v1`" in readme
    assert card["prompt"]["system_prompt"] in readme
    assert card["prompt"]["example_user_turn"] in readme
    assert "```python\n" + snippet(card) + "```" in readme

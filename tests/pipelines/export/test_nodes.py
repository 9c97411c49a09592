"""The export nodes refuse an adapter that does not fit, before loading any weights."""

from __future__ import annotations

import pytest

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.pipelines.export.nodes import (
    merge_lora_adapter,
    package_served_model,
)
from expert_kedro.recommender.adapters import AdapterMismatchError

SOURCE = {"name_or_path": "/models/base", "gguf_file": None, "revision": None}
# Paths that do not exist: a check that loaded weights first would fail on them.
BASE = BaseModelHandle(path="/nowhere/base_model", source=SOURCE)


def _adapter(training_info: dict) -> LoRAAdapterHandle:
    return LoRAAdapterHandle(
        path="/nowhere/lora_adapter",
        adapter_config={},
        base_model_name_or_path="/nowhere/base_model",
        training_info=training_info,
        version="2026-01-01T00.00.00.000Z",
    )


def test_adapter_of_another_base_is_refused():
    other = {**SOURCE, "name_or_path": "/models/other"}
    with pytest.raises(AdapterMismatchError, match="/models/other"):
        merge_lora_adapter(BASE, _adapter({"base_model": other}), {}, {})


def test_adapter_of_another_prompt_layout_is_refused():
    layout = {"mode": "rerank", "history_questions": 0}
    with pytest.raises(AdapterMismatchError, match="history_questions=0"):
        merge_lora_adapter(
            BASE,
            _adapter({"base_model": SOURCE, "recommender": layout}),
            {},
            {"history_questions": 4},
        )


def test_bad_export_parameter_is_named_first():
    with pytest.raises(ValueError, match="export.dtype='fp8'"):
        merge_lora_adapter(BASE, _adapter({"base_model": SOURCE}), {"dtype": "fp8"}, {})


CARD = {
    "description": "Expert recommender.",
    "folders": {"merged": "merged", "adapter": "adapter"},
    "model": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "dtype": "bfloat16",
    },
    "base_model": SOURCE,
    "adapter": {"version": "2026-01-01T00.00.00.000Z"},
    "prompt": {
        "mode": "rerank",
        "format": "chat_template",
        "tokenize": "add_special_tokens=False",
        "system_prompt": "Answer yes or no.",
        "user_turn": "The agenda, then the candidate.",
        "example_user_turn": "Agenda:\n1. Q?",
    },
    "score": {"read": "logit(yes) - logit(no)", "use": "rank candidates"},
}


@pytest.mark.parametrize("copy_adapter", [True, False])
def test_package_follows_copy_adapter(copy_adapter: bool):
    served = package_served_model(
        "model",
        "tokenizer",
        _adapter({}),
        CARD,
        {"copy_adapter": copy_adapter, "max_shard_size": "1GB"},
    )
    assert served.adapter_path == ("/nowhere/lora_adapter" if copy_adapter else None)
    assert served.max_shard_size == "1GB"
    assert served.card is CARD
    assert served.readme.startswith("# Expert recommender")

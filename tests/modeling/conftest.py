"""Fixtures: the prepared SmolLM2 base model, its tokenizer, a tiny random Llama."""

from __future__ import annotations

from pathlib import Path

import pytest

from expert_kedro.modeling.base_model import load_tokenizer
from tests.modeling.model_fixtures import prepared_smollm2, tiny_llama


@pytest.fixture(scope="session")
def smollm2_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct prepared from the GGUF (once per test process)."""
    return prepared_smollm2(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, smollm2_base: Path) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer, for fast dataset tests."""
    return tiny_llama(tmp_path_factory.mktemp("tiny_llama"), smollm2_base)


@pytest.fixture(scope="module")
def chat_tokenizer(smollm2_base: Path):
    """SmolLM2's tokenizer, with its chat template."""
    return load_tokenizer(str(smollm2_base))


@pytest.fixture(scope="module")
def plain_tokenizer(smollm2_base: Path):
    """Same vocabulary without a chat template, like Llama-3 base (the fallback
    ``### User:`` layout)."""
    tokenizer = load_tokenizer(str(smollm2_base))
    tokenizer.chat_template = None
    return tokenizer

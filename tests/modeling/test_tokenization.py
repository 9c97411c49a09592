"""Pairs -> unpadded tokenized examples, with truncation and drops counted."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from expert_kedro.modeling.base_model import load_tokenizer
from expert_kedro.modeling.prompts import IGNORE_INDEX, encode_pair
from expert_kedro.modeling.tokenization import tokenize_pairs
from tests.model_fixtures import pairs_frame


@pytest.fixture(scope="module")
def tokenizer(smollm2_base: Path):
    return load_tokenizer(str(smollm2_base))


def test_examples_are_unpadded_and_traceable(tokenizer):
    pairs = pairs_frame(8)
    dataset = tokenize_pairs(pairs, tokenizer, max_length=512)
    assert len(dataset) == 8
    lengths = dataset["length"]
    assert len(set(lengths)) > 1  # no padding to a common length
    for row, pair in zip(dataset, pairs.itertuples(), strict=True):
        expected = encode_pair(tokenizer, pair.system, pair.input, pair.output)
        assert row["input_ids"] == expected["input_ids"]
        assert row["labels"] == expected["labels"]
        assert row["length"] == len(row["input_ids"])
        assert (row["project_id"], row["expert_id"], row["source"]) == (
            pair.project_id,
            pair.expert_id,
            pair.source,
        )
    assert not any(dataset["truncated"])


def test_truncation_and_drops_are_counted(tokenizer, caplog):
    pairs = pairs_frame(6)
    prompt_lengths = [
        encode_pair(tokenizer, p.system, p.input, p.output)["prompt_length"]
        for p in pairs.itertuples()
    ]
    max_length = min(prompt_lengths) + 2
    caplog.set_level(logging.INFO, logger="expert_kedro.modeling.tokenization")
    dataset = tokenize_pairs(pairs, tokenizer, max_length=max_length, name="tiny")
    kept = sum(length < max_length for length in prompt_lengths)
    assert len(dataset) == kept
    assert all(dataset["truncated"])
    assert max(dataset["length"]) <= max_length
    assert f"{kept} truncated to max_length={max_length}" in caplog.text
    if kept < len(pairs):
        assert f"dropped {len(pairs) - kept} of {len(pairs)} examples" in caplog.text


def test_full_sequence_loss(tokenizer):
    dataset = tokenize_pairs(
        pairs_frame(3), tokenizer, max_length=512, completion_only_loss=False
    )
    for row in dataset:
        assert row["labels"] == row["input_ids"]
        assert IGNORE_INDEX not in row["labels"]


def test_bad_input_names_the_problem(tokenizer):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['output'\]"):
        tokenize_pairs(pairs_frame(2).drop(columns="output"), tokenizer, max_length=64)
    pairs = pairs_frame(3)
    pairs.loc[1, "output"] = "  "
    with pytest.raises(ValueError, match="1 row\\(s\\) have an empty 'output'.*100001"):
        tokenize_pairs(pairs, tokenizer, max_length=64)
    with pytest.raises(
        ValueError, match="raise model_training.tokenization.max_length"
    ):
        tokenize_pairs(pairs_frame(2), tokenizer, max_length=4)

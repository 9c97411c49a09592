"""Batches of whole queries, and the query tensors added to trl's batches."""

from __future__ import annotations

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from expert_kedro.modeling.query_batches import (
    RANK_POSITION,
    RANK_POSITIVE,
    RANK_QUERY,
    QueryBatchSampler,
    QueryCollator,
    pack_sizes,
)

# Query sizes of a training set, one query larger than the batches.
SIZES = {"a": 4, "b": 4, "c": 3, "d": 5, "e": 2, "f": 4, "g": 1, "h": 7, "i": 4}
BATCH = 5
YES, NO, EOS = 7, 9, 2


def _queries() -> list[str]:
    """Query key per example, interleaved (grouping must not need adjacency)."""
    keys = [key for key, size in SIZES.items() for _ in range(size)]
    return keys[::2] + keys[1::2]


def _epochs(sampler: QueryBatchSampler, *epochs: int) -> list[list[list[int]]]:
    seen = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        torch.manual_seed(1000 + epoch)  # the global RNG has no say
        seen.append(list(sampler))
    return seen


def test_batches_hold_whole_queries_within_the_size_bound():
    queries = _queries()
    sampler = QueryBatchSampler(queries, BATCH, seed=42)
    for batches in _epochs(sampler, 0, 1, 2):
        assert len(batches) == len(sampler)
        indices = [i for batch in batches for i in batch]
        assert sorted(indices) == list(range(len(queries)))  # each once per epoch
        for batch in batches:
            keys = {queries[i] for i in batch}
            # Whole queries: every example of each query in the batch is there.
            assert sum(SIZES[k] for k in keys) == len(batch)
            assert len(batch) <= BATCH or len(keys) == 1


def test_the_order_depends_only_on_the_seed_and_the_epoch():
    sampler = QueryBatchSampler(_queries(), BATCH, seed=42)
    first, second, again = _epochs(sampler, 0, 1, 0)
    assert first == again != second
    resumed = QueryBatchSampler(_queries(), BATCH, seed=42)
    assert _epochs(resumed, 1) == [second]
    other = QueryBatchSampler(_queries(), BATCH, seed=7)
    assert _epochs(other, 0) != [first]


def test_equal_queries_are_grouped_afresh_each_epoch():
    queries = [f"q{i // 4}" for i in range(4 * 12)]
    sampler = QueryBatchSampler(queries, 8, seed=0)
    assert len(sampler) == 6
    groupings = [
        {frozenset(queries[i] for i in batch) for batch in batches}
        for batches in _epochs(sampler, 0, 1)
    ]
    assert groupings[0] != groupings[1]


def test_packing_is_first_fit_decreasing():
    assert pack_sizes([3, 1, 4, 2, 2, 9], 5) == [[9], [4, 1], [3, 2], [2]]


def _features() -> list[dict]:
    """Two queries: p1 (yes, no), p2 (no, yes, no); prompts masked with -100."""
    rows = [
        ("p1", [1, 3, 4], YES),
        ("p1", [1, 5], NO),
        ("p2", [1, 6, 6, 6], NO),
        ("p2", [1, 3], YES),
        ("p2", [1, 4, 5], NO),
    ]
    return [
        {
            "input_ids": [*prompt, answer, EOS],
            "labels": [-100] * len(prompt) + [answer, EOS],
            "query": key,
        }
        for key, prompt, answer in rows
    ]


@pytest.mark.parametrize("padding_free", [False, True])
def test_collator_marks_each_examples_query_answer_position_and_label(
    padding_free: bool,
):
    inner = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=padding_free)
    features = _features()
    batch = QueryCollator(inner, (YES, NO), padding_free=padding_free)(features)
    assert "query" not in batch
    assert batch[RANK_QUERY].tolist() == [0, 0, 1, 1, 1]
    assert batch[RANK_POSITIVE].tolist() == [True, False, False, True, False]
    # The position before each answer: its input is the prompt's last token and
    # the next label is the answer.
    flat_ids = batch["input_ids"].reshape(-1)
    flat_labels = batch["labels"].reshape(-1)
    positions = batch[RANK_POSITION]
    assert flat_ids[positions].tolist() == [f["input_ids"][-3] for f in features]
    assert flat_labels[positions + 1].tolist() == [YES, NO, NO, YES, NO]
    # trl's own tensors are untouched.
    plain = inner([{k: v for k, v in f.items() if k != "query"} for f in features])
    assert all(torch.equal(batch[k], v) for k, v in plain.items() if torch.is_tensor(v))


def test_collator_leaves_batches_without_queries_to_trl():
    inner = DataCollatorForLanguageModeling(pad_token_id=0)
    features = [{k: v for k, v in f.items() if k != "query"} for f in _features()]
    batch = QueryCollator(inner, (YES, NO), padding_free=False)(features)
    assert set(batch) == {"input_ids", "labels", "attention_mask"}


def test_collator_refuses_answers_that_are_not_yes_or_no():
    features = _features()
    features[1]["labels"][2] = 11  # a generative answer token
    collator = QueryCollator(
        DataCollatorForLanguageModeling(pad_token_id=0), (YES, NO), padding_free=False
    )
    with pytest.raises(ValueError, match=r"ranking_loss\.weight > 0 needs rerank"):
        collator(features)

"""train_lora with the listwise ranking loss (``model_training.ranking_loss``).

A toy rerank task on a tiny random Llama with a word-level vocabulary of the toy
prompts (a 64-token vocabulary keeps each CPU step a few milliseconds): every
query's right expert is the same name, so the candidates can be told apart after a
few steps, while a random model scores them alike and the listwise loss starts
near ``log(candidates)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import TrainerCallback

from expert_kedro.modeling.listwise_trainer import captured_hidden_states
from expert_kedro.modeling.query_batches import (
    RANK_POSITION,
    QueryBatchSampler,
    QueryCollator,
)
from expert_kedro.modeling.ranking_loss import answer_scores
from expert_kedro.modeling.sft_trainer import EpochSeededLengthGroupedSampler
from expert_kedro.scoring.llm_scoring import next_token_logits, yes_no_ids
from tests.tiny_llama import tiny_llama_config

NAMES = ["Ana Ruiz", "Bo Chen", "Carla Diaz", "Dev Patel"]
QUERIES = 7
SYSTEM = "Answer yes if the expert matches the agenda, else no."


def _rerank_pairs(queries: int = QUERIES) -> pd.DataFrame:
    """``queries`` agendas with the 4 candidates each (Ana Ruiz is always right),
    plus one agenda whose candidates are all wrong (nothing to rank): 4 batches of
    8 examples, each with at least one query to rank."""
    rows = []
    for q in range(queries + 1):
        agenda = [f"How is market {q} changing?"]
        for c, name in enumerate(NAMES):
            rows.append(
                {
                    "project_id": str(500 + q),
                    "expert_id": str(1000 + c),
                    "agenda": agenda,
                    "system": SYSTEM,
                    "input": f"Agenda:\n1. {agenda[0]}\n\nExpert: {name} (ID {c})",
                    "output": "yes" if c == 0 and q < queries else "no",
                    "source": "original",
                }
            )
    return pd.DataFrame(rows)


def _word_tokenizer(pairs: pd.DataFrame):
    """A word-level tokenizer knowing every word of the pairs and of the fallback
    prompt template (no chat template)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from expert_kedro.modeling.prompts import FALLBACK_TEMPLATE

    split = pre_tokenizers.Whitespace()
    texts = [FALLBACK_TEMPLATE, *pairs["system"], *pairs["input"], "yes no"]
    words = sorted({w for t in texts for w, _ in split.pre_tokenize_str(t)})
    vocab = {"<pad>": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    backend.pre_tokenizer = split
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="<eos>"
    )
    tokenizer.padding_side = "right"
    assert len(tokenizer) <= 64
    return tokenizer


def _tiny_model():
    from transformers import LlamaForCausalLM

    torch.manual_seed(0)
    config = tiny_llama_config(
        hidden_size=64, intermediate_size=128, eos_token_id=1, pad_token_id=0
    )
    return LlamaForCausalLM(config)


class SamplerProbe(TrainerCallback):
    """Keeps the batch sampler of the training data loader."""

    batch_sampler = None

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self.batch_sampler = train_dataloader.batch_sampler


def _train(tmp_path: Path, weight: float, **training):
    from expert_kedro.modeling.tokenization import tokenize_pairs
    from expert_kedro.modeling.training import train_lora

    pairs = _rerank_pairs()
    tokenizer = _word_tokenizer(pairs)
    data = tokenize_pairs(pairs, tokenizer, max_length=64)
    probe = SamplerProbe()
    result = train_lora(
        _tiny_model(),
        tokenizer,
        data,
        data.select(range(8)),
        lora={"r": 4, "alpha": 8, "dropout": 0.0},
        training={
            "per_device_train_batch_size": 8,
            "learning_rate": 2e-2,
            "lr_scheduler_type": "constant",
            "warmup_steps": 0,
            "eval_steps": 100,
            "save_steps": 100,
            "checkpoint_dir": str(tmp_path / "ckpt"),
            **training,
        },
        seed=3,
        callbacks=[probe],
        ranking_loss={"weight": weight},
    )
    return result, tokenizer, data, probe


def _score_gaps(model, tokenizer, data) -> list[float]:
    """Per ranked query, its expert's score minus the best other candidate's, as
    inference scores them (``logit(yes) - logit(no)`` right after the prompt)."""
    model.eval()
    prompts = [
        ids[: next(i for i, t in enumerate(labels) if t != -100)]
        for ids, labels in zip(data["input_ids"], data["labels"], strict=True)
    ]
    logits = next_token_logits(
        model,
        prompts,
        list(yes_no_ids(tokenizer)),
        pad_id=tokenizer.pad_token_id,
        share_prefix=False,
    )
    frame = pd.DataFrame(
        {
            "query": data["query"],
            "score": logits[:, 0] - logits[:, 1],
            "right": [
                answer[0] == yes_no_ids(tokenizer)[0]
                for answer in (
                    [t for t in labels if t != -100] for labels in data["labels"]
                )
            ],
        }
    )
    return [
        float(
            group.loc[group["right"], "score"].max()
            - group.loc[~group["right"], "score"].max()
        )
        for _, group in frame.groupby("query")
        if group["right"].any()
    ]


@pytest.mark.parametrize(
    ("padding_free", "accumulation"), [(False, 1), (True, 2)], ids=["padded", "packed"]
)
def test_the_listwise_term_trains_the_ranking_in_both_batch_layouts(
    tmp_path: Path, padding_free: bool, accumulation: int
):
    steps = 24 // accumulation
    result, tokenizer, data, probe = _train(
        tmp_path,
        1.0,
        max_steps=steps,
        padding_free=padding_free,
        gradient_accumulation_steps=accumulation,
        # The kept hidden states survive activation recomputation.
        gradient_checkpointing=padding_free,
    )
    assert isinstance(probe.batch_sampler, QueryBatchSampler)
    history = result.history
    losses = [step["loss"] for step in history["steps"]]
    ranked = [step["rank_loss"] for step in history["steps"]]
    assert len(ranked) == steps and all(map(math.isfinite, losses + ranked))
    # A random model scores the 4 candidates alike: log(4) = 1.39.
    assert ranked[0] == pytest.approx(math.log(len(NAMES)), abs=0.2)
    assert sum(ranked[-3:]) / 3 < 0.25 * ranked[0]
    assert history["rank_loss_start"] == ranked[0]
    assert history["rank_loss_end"] == ranked[-1]
    # The eval loss is the SFT loss alone: no listwise metric in evaluation.
    assert history["eval"] and all(
        set(e) == {"step", "eval_loss"} for e in history["eval"]
    )
    # Scored the way inference scores, every query now ranks its expert first.
    gaps = _score_gaps(result.model, tokenizer, data)
    assert len(gaps) == QUERIES and min(gaps) > 0.5


def test_weight_zero_keeps_the_pointwise_trainer_and_its_sampler(tmp_path: Path):
    pointwise, *_, probe = _train(tmp_path / "off", 0.0, max_steps=1)
    # The length-grouped sampler of the plain SFT path, never the query batches.
    assert isinstance(probe.batch_sampler.sampler, EpochSeededLengthGroupedSampler)
    assert not isinstance(probe.batch_sampler, QueryBatchSampler)
    assert "rank_loss" not in pointwise.history["steps"][0]
    assert "rank_loss_end" not in pointwise.history
    listwise, *_ = _train(tmp_path / "on", 1.0, max_steps=1)
    # Same initial adapter: the step-0 validation loss is the same SFT loss.
    assert listwise.history["eval_loss_start"] == pytest.approx(
        pointwise.history["eval_loss_start"], rel=1e-6
    )


@pytest.mark.parametrize("padding_free", [False, True], ids=["padded", "packed"])
def test_training_scores_are_the_scores_inference_ranks_by(padding_free: bool):
    """The hidden state kept from the training forward pass, at the collator's
    answer positions, gives the ``logit(yes) - logit(no)`` inference reads."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = _tiny_model().eval()
    yes, no, eos = 7, 9, 2
    prompts = [[1, 5, 6, 11], [1, 5, 6, 12, 13, 14], [1, 20, 21], [1, 20, 22, 23]]
    features = [
        {
            "input_ids": [*prompt, answer, eos],
            "labels": [-100] * len(prompt) + [answer, eos],
            "query": f"q{i // 2}",
        }
        for i, (prompt, answer) in enumerate(
            zip(prompts, [yes, no, no, yes], strict=True)
        )
    ]
    inner = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=padding_free)
    batch = QueryCollator(inner, (yes, no), padding_free=padding_free)(features)
    keys = ("input_ids", "attention_mask", "position_ids")
    with torch.no_grad(), captured_hidden_states(model.base_model) as captured:
        model(**{k: v for k, v in batch.items() if k in keys}, use_cache=False)
    scores = answer_scores(
        captured["hidden"],
        model.get_output_embeddings(),
        batch[RANK_POSITION],
        (yes, no),
    )
    logits = next_token_logits(model, prompts, [yes, no], pad_id=0, share_prefix=False)
    expected = torch.from_numpy(logits[:, 0] - logits[:, 1])
    assert torch.allclose(scores, expected, atol=1e-5)


def test_a_resumed_run_sees_the_batches_of_the_uninterrupted_one(tmp_path: Path):
    """Resumed mid-epoch from step 2 (4 batches an epoch), steps 3-6 train on
    the same query batches, in epoch 0 (skipped batches) and epoch 1."""
    import shutil

    whole, *_ = _train(tmp_path, 1.0, max_steps=6, save_steps=2, save_total_limit=10)
    for step in (4, 6):
        shutil.rmtree(tmp_path / "ckpt" / f"checkpoint-{step}")
    resumed, *_ = _train(
        tmp_path, 1.0, max_steps=6, save_steps=2, resume_from_checkpoint=True
    )
    assert resumed.history["resumed_from"].endswith("checkpoint-2")
    for key in ("loss", "rank_loss"):
        expected = [step[key] for step in whole.history["steps"]]
        got = [step[key] for step in resumed.history["steps"]]
        assert got == pytest.approx(expected, rel=1e-4)


def test_bases_whose_logits_are_changed_after_the_head_are_named():
    from transformers import Gemma2Config

    from expert_kedro.modeling.listwise_trainer import transforms_logits

    assert transforms_logits(tiny_llama_config()) == []
    assert transforms_logits(Gemma2Config()) == ["final_logit_softcapping"]

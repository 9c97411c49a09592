"""Model selection by the ranking metric: a real (tiny) QLoRA run through train_lora.

The tiny random Llama (4-bit) is trained with real peft/trl on rerank yes/no pairs
of the toy roster; at every step it is evaluated, ranked on validation agendas by
the inference ranker (real BM25 candidates, real prompts) and checkpointed. The
adapter returned must be the selected checkpoint's, tensor for tensor.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from expert_kedro.modeling.checkpoint_selection import (
    checkpoint_callbacks,
    selection_callbacks,
    selection_summary,
)
from expert_kedro.modeling.ranking_validation import (
    ValidationRanking,
    validation_sample,
)
from expert_kedro.modeling.selection import SelectionSettings
from expert_kedro.modeling.trainer_recipe import TrainingSettings
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import BM25Retriever, build_expert_documents
from tests.retrieval.toy_roster import (
    QUERIES,
    make_toy_roster,
    make_toy_train_pairs,
)

STEPS = 6
RECOMMENDER = RecommenderSettings.from_params(
    {
        "candidates": 4,
        "history_questions": 0,
        "candidate_region": False,
        "agenda_region": False,
        "fallback_retrieval_weight": 0.5,
        "batch_size": 8,
    }
)
RANK_KEYS = {
    "eval_rank_hit@1",
    "eval_rank_mrr",
    "eval_rank_fused_hit@1",
    "eval_rank_fused_mrr",
}


def _validation() -> ValidationRanking:
    roster, train_pairs = make_toy_roster(), make_toy_train_pairs()
    projects = pd.DataFrame(
        {
            "project_id": [str(9000 + i) for i in range(len(QUERIES))],
            "agenda": list(QUERIES.values()),
            "acceptable_expert_ids": [[str(e)] for e in QUERIES],
        }
    )
    retriever = BM25Retriever().fit(build_expert_documents(roster, train_pairs))
    return ValidationRanking(projects, roster, retriever, train_pairs)


def _pairs(data: ValidationRanking, ranker) -> pd.DataFrame:
    """Yes/no pairs in the ranker's own prompt layout: each training agenda with
    every toy expert (yes for its own)."""
    rows = []
    for pid, expert, agenda in data.train_pairs.itertuples(index=False):
        for candidate in data.expert_roster["expert_id"]:
            rows.append(
                {
                    "project_id": str(pid),
                    "expert_id": str(candidate),
                    "agenda": agenda,
                    "system": RECOMMENDER.rerank_system_prompt,
                    "input": ranker.candidate_input(agenda, str(candidate)),
                    "output": "yes" if candidate == expert else "no",
                    "source": "original",
                }
            )
    return pd.DataFrame(rows)


def _train(tiny_model: Path, tmp_path: Path, selection: SelectionSettings):
    from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
    from expert_kedro.modeling.tokenization import tokenize_pairs
    from expert_kedro.modeling.training import train_lora

    tokenizer = load_tokenizer(str(tiny_model))
    data = _validation()
    callbacks = selection_callbacks(
        selection,
        data,
        tokenizer,
        RECOMMENDER,
        seed=0,
        prompt_style="auto",
        packed_attention=False,
    )
    ranker_pairs = _pairs(data, _ranker(data, tokenizer))
    examples = tokenize_pairs(ranker_pairs, tokenizer, max_length=256)
    training = {
        "max_steps": STEPS,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "learning_rate": 3e-2,
        "warmup_steps": 0,
        "eval_steps": 1,
        "save_steps": 1,
        "save_total_limit": None,
        "checkpoint_dir": str(tmp_path / "ckpt"),
    }
    result = train_lora(
        load_base_model(str(tiny_model)),
        tokenizer,
        examples,
        examples.select(range(8)),
        lora={"r": 4, "alpha": 8, "dropout": 0.0},
        training=selection.training_params(training, has_eval=True),
        seed=5,
        callbacks=callbacks,
    )
    return result, selection_summary(callbacks)


def _ranker(data: ValidationRanking, tokenizer):
    from expert_kedro.modeling.ranking_validation import ranking_callback

    return ranking_callback(
        data, tokenizer, RECOMMENDER, prompt_style="auto", packed_attention=False
    ).ranker


def _adapter(model) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(model).items()}


def _checkpoint(tmp_path: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(
        tmp_path / "ckpt" / f"checkpoint-{step}" / "adapter_model.safetensors"
    )


def _same(left: dict[str, torch.Tensor], right: dict[str, torch.Tensor]) -> bool:
    assert left.keys() == right.keys()
    return all(torch.equal(left[k], right[k].to(left[k].dtype)) for k in left)


def test_best_mrr_checkpoint_is_the_adapter_returned(tiny_model: Path, tmp_path: Path):
    selection = SelectionSettings.from_params({"metric": "mrr", "max_agendas": None})
    result, summary = _train(tiny_model, tmp_path, selection)
    evals = result.history["eval"]
    assert [e["step"] for e in evals] == list(range(STEPS + 1))
    for entry in evals:  # logged with the loss at every evaluation
        assert RANK_KEYS <= entry.keys()
        assert all(0.0 <= entry[k] <= 1.0 for k in RANK_KEYS)
        assert entry["eval_rank_seconds"] > 0
    mrr = {e["step"]: e["eval_rank_mrr"] for e in evals if e["step"] > 0}
    best = max(mrr, key=lambda step: (mrr[step], -step))  # first of the best
    assert summary["best_step"] == best and summary["best_value"] == mrr[best]
    assert summary["best_checkpoint"].endswith(f"checkpoint-{best}")
    # The run is built so that the best is not the last: the selection matters.
    assert best != STEPS, mrr
    adapter = _adapter(result.model)
    assert _same(adapter, _checkpoint(tmp_path, best))
    assert not _same(adapter, _checkpoint(tmp_path, STEPS))


@pytest.mark.parametrize("metric", ["loss", "last"])
def test_loss_and_last_selection_need_no_ranking(
    tiny_model: Path, tmp_path: Path, metric: str
):
    selection = SelectionSettings.from_params({"metric": metric, "max_agendas": 0})
    result, summary = _train(tiny_model, tmp_path, selection)
    evals = result.history["eval"]
    assert not any(RANK_KEYS & entry.keys() for entry in evals)
    adapter = _adapter(result.model)
    if metric == "last":
        assert summary == {"metric": "last"}
        assert _same(adapter, _checkpoint(tmp_path, STEPS))
        return
    loss = {e["step"]: e["eval_loss"] for e in evals if e["step"] > 0}
    best = min(loss, key=lambda step: (loss[step], step))
    assert summary["best_step"] == best
    assert _same(adapter, _checkpoint(tmp_path, best))


def test_selection_settings_refuse_what_cannot_select():
    with pytest.raises(ValueError, match="selection.metric"):
        SelectionSettings.from_params({"metric": "ndcg"})
    with pytest.raises(ValueError, match="selection.max_agendas"):
        SelectionSettings.from_params({"metric": "mrr", "max_agendas": 0})
    with pytest.raises(ValueError, match="early_stopping_patience"):
        SelectionSettings.from_params({"early_stopping_patience": 2})
    mrr = SelectionSettings.from_params(
        {"metric": "mrr", "max_agendas": 16, "early_stopping_patience": 2}
    )
    with pytest.raises(ValueError, match="save_steps \\(200\\) equal to eval_steps"):
        mrr.training_params({"eval_steps": 100, "save_steps": 200}, has_eval=True)
    with pytest.raises(ValueError, match="no validation examples"):
        mrr.training_params({"eval_steps": 8, "save_steps": 8}, has_eval=False)
    recipe = TrainingSettings.from_params(
        {"eval_steps": 8, "save_steps": 8, "use_liger_kernel": False}
    )
    args = mrr.training_params(recipe, has_eval=True)
    assert isinstance(args, TrainingSettings) and args.eval_steps == 8
    assert args.sft_args["metric_for_best_model"] == "eval_rank_mrr"
    assert args.sft_args["greater_is_better"] is True
    assert args.sft_args["load_best_model_at_end"] is True
    assert args.sft_args["use_liger_kernel"] is False  # the recipe's own kept
    assert recipe.sft_args == {"use_liger_kernel": False}  # a copy, not changed
    last = SelectionSettings.from_params({"metric": "last"})
    assert last.training_params(recipe, has_eval=False) == recipe
    names = [type(c).__name__ for c in checkpoint_callbacks(mrr)]
    assert names == ["SelectionRecord", "EarlyStoppingCallback"]


def test_validation_sample_is_seeded_and_skips_unscorable_projects():
    projects = pd.DataFrame(
        {
            "project_id": [str(i) for i in range(10)],
            "agenda": [[f"q{i}"] for i in range(10)],
            "acceptable_expert_ids": [[] if i == 3 else ["7"] for i in range(10)],
        }
    )
    first = validation_sample(projects, 4, seed=1)
    assert len(first) == 4 and "3" not in set(first["project_id"])
    pd.testing.assert_frame_equal(first, validation_sample(projects, 4, seed=1))
    assert len(validation_sample(projects, None, seed=1)) == 9
    with pytest.raises(ValueError, match="acceptable_expert_ids"):
        validation_sample(projects.drop(columns="acceptable_expert_ids"), 4, seed=1)

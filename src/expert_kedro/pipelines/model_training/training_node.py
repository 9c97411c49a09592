"""The training node of the model_training pipeline: QLoRA fine-tuning of the base
model, with the ranking validation and the checkpoint selection.

The heavy lifting lives in :mod:`expert_kedro.modeling` (``training``,
``ranking_validation``, ``checkpoint_selection``); the node connects the catalog
data to it and records what was trained with the adapter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
from datasets import Dataset

from expert_kedro.modeling.base_model import load_base_model, load_tokenizer
from expert_kedro.modeling.checkpoint_selection import (
    selection_callbacks,
    selection_summary,
)
from expert_kedro.modeling.handles import BaseModelHandle, TrainedAdapter
from expert_kedro.modeling.hardware import HardwareInfo
from expert_kedro.modeling.ranking_validation import ValidationRanking
from expert_kedro.modeling.settings import ModelTrainingSettings
from expert_kedro.modeling.training import train_lora
from expert_kedro.modeling.varlen_attention import VARLEN
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import RetrievalIndex, check_no_leakage


def _selection_callbacks(
    ranking: ValidationRanking,
    tokenizer: Any,
    settings: ModelTrainingSettings,
    recommender: RecommenderSettings,
) -> list[Any]:
    """The adapter selection's callbacks (ranking validation, record, early
    stopping); the retriever is checked to hold no validation project first."""
    check_no_leakage(ranking.retriever, {"validation": ranking.projects})
    return selection_callbacks(
        settings.selection,
        ranking,
        tokenizer,
        recommender,
        seed=settings.seed,
        prompt_style=settings.tokenization.prompt_style,
        packed_attention=settings.attn_implementation == VARLEN,
    )


def train_lora_adapter(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    base_model: BaseModelHandle,
    tokenized_train: Dataset,
    tokenized_validation: Dataset,
    hardware: dict[str, Any],
    validation_projects: pd.DataFrame,
    retrieval_index: RetrievalIndex,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    params: dict[str, Any],
    recommender: dict[str, Any],
) -> tuple[TrainedAdapter, dict[str, Any]]:
    """Fine-tune a LoRA adapter on the 4-bit base model.

    The adapter saved is the checkpoint ``selection.metric`` chooses: the last
    step's, the lowest validation loss's, or the best ranking of the validation
    agendas by the reranker (ranked at every evaluation, with the loss).

    Args:
        base_model: ``base_model`` handle.
        tokenized_train: Training examples.
        tokenized_validation: Validation examples (loss tracked from step 0).
        hardware: Output of :func:`.nodes.verify_hardware`.
        validation_projects: Validation projects: a seeded sample of them is
            ranked at each evaluation (``selection.max_agendas``).
        retrieval_index: The hybrid retriever proposing their candidates, as at
            inference (checked to hold no validation project).
        expert_roster: The roster.
        train_pairs: Training pairs (candidates' past questions in the prompts).
        params: ``model_training`` parameters (:class:`ModelTrainingSettings`).
        recommender: ``recommender`` parameters; their prompt layout (mode, past
            questions, region line) is recorded with the adapter so that inference
            refuses a different one.

    Returns:
        The adapter with its tokenizer and training info, and the training history.
    """
    settings = ModelTrainingSettings.from_params(params)
    recommender_settings = RecommenderSettings.from_params(recommender)
    info = HardwareInfo(**{k: hardware[k] for k in HardwareInfo.__dataclass_fields__})
    tokenizer = load_tokenizer(base_model)
    model = load_base_model(
        base_model,
        settings.quantization,
        hardware=info,
        attn_implementation=settings.attn_implementation,
    )
    ranking = ValidationRanking(
        validation_projects, expert_roster, retrieval_index, train_pairs
    )
    callbacks = _selection_callbacks(ranking, tokenizer, settings, recommender_settings)
    has_eval = len(tokenized_validation) > 0
    result = train_lora(
        model,
        tokenizer,
        tokenized_train,
        tokenized_validation if has_eval else None,
        lora=settings.lora,
        training=settings.selection.training_params(
            settings.training, has_eval=has_eval
        ),
        seed=settings.seed,
        hardware=info,
        callbacks=callbacks,
        ranking_loss=settings.ranking_loss,
    )
    history = {
        **result.history,
        "selection": selection_summary(callbacks),
        "device": hardware,
        "base_model": base_model.source,
        **_example_counts(tokenized_train),
        "parameters": settings.to_dict(),
    }
    adapter = TrainedAdapter(
        model=result.model,
        tokenizer=tokenizer,
        training_info=_training_info(
            settings, history, base_model, recommender_settings
        ),
    )
    return adapter, history


def _training_info(
    settings: ModelTrainingSettings,
    history: dict[str, Any],
    base_model: BaseModelHandle,
    recommender: RecommenderSettings,
) -> dict[str, Any]:
    """What is saved with the adapter: how it was trained and its prompt layout."""
    return {
        "base_model": base_model.source,
        "prompt_style": settings.tokenization.prompt_style,
        "max_length": settings.tokenization.max_length,
        "completion_only_loss": settings.tokenization.completion_only_loss,
        "quantization": dataclasses.asdict(settings.quantization),
        "seed": settings.seed,
        "global_step": history["global_step"],
        "eval_loss_start": history["eval_loss_start"],
        "eval_loss_end": history["eval_loss_end"],
        "selection": history["selection"],
        "recommender": recommender.rerank_layout(),
    }


def _example_counts(tokenized_train: Dataset) -> dict[str, int]:
    """Training examples cut at ``max_length``, and those whose prompt the length
    policy shortened (see ``tokenize_pairs``)."""
    shortened = (
        int(sum(tokenized_train["prompt_shortened"]))
        if "prompt_shortened" in tokenized_train.column_names
        else 0
    )
    return {
        "truncated_train_examples": int(sum(tokenized_train["truncated"])),
        "shortened_train_prompts": shortened,
    }

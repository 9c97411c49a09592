"""Nodes of the evaluation_llm pipeline: the LLM systems ranked on held-out projects.

* ``rank_llm_projects``: the fine-tuned adapter in ``recommender.mode``; its rerank
  fusion weight, tuned on validation, is also saved for inference (``rerank_tuning``);
* ``rank_zero_shot_projects``: the base model without adapter, in each of
  ``recommender.zero_shot_designs``: what fine-tuning adds;
* ``train_cross_encoder_model`` / ``rank_cross_encoder_projects``: the peer a
  practitioner would pick instead of an LLM, a MiniLM cross-encoder trained on the
  same rerank pairs (system ``cross_encoder``). It is trained here, not in the
  training pipeline: it is a point of comparison that inference never serves, so
  only the run that reports it pays for it.

All rank through the inference ranker (``evaluation.llm_systems``), with candidates
from the saved retrieval index after the evaluation's leakage check.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.cross_encoder import (
    CrossEncoderScorer,
    CrossEncoderSettings,
    TrainedCrossEncoder,
    train_cross_encoder,
)
from expert_kedro.evaluation.llm_systems import project_sets, rank_system
from expert_kedro.evaluation.rankings import RANKING_COLUMNS
from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.recommender.adapters import load_scorer
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.rerank_tuning import RerankTuning
from expert_kedro.recommender.service import build_ranker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import RetrievalIndex
from expert_kedro.training_data.settings import PairsSettings


def rank_llm_projects(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    checked_retrieval_index: RetrievalIndex,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rankings of the LLM recommender on held-out projects, and what was tuned.

    Returns:
        ``llm_rankings`` (rankings contract, whole roster per project),
        ``llm_rerank_tuning`` (the validation grid of the fusion weight, or the
        free-generation hallucination counts in generative mode) and
        ``rerank_tuning`` (the tuned weight for this adapter version, read by
        inference; ``retrieval_weight`` null in generative mode).
    """
    settings = RecommenderSettings.from_params(recommender_params)
    system = PairsSettings.from_params(pairs_params).system_prompt
    ranker = build_ranker(
        settings,
        load_scorer(base_model, lora_adapter, settings),
        Roster(expert_roster),
        retriever=checked_retrieval_index,
        train_pairs=train_pairs,
        generative_system=system,
    )
    sets = project_sets(
        validation_projects,
        test_projects,
        partial_test_projects,
        settings.max_eval_projects,
    )
    rankings, report = rank_system(ranker, settings, sets, system)
    report["adapter_version"] = lora_adapter.version
    tuned = RerankTuning.of(
        retrieval_weight=report.get("tuned_retrieval_weight"),
        candidates=settings.candidates,
        adapter=lora_adapter,
        tuning_metric=settings.tuning_metric,
        n_validation_projects=len(sets[("validation", "full")]),
        retrieval_index=checked_retrieval_index.fingerprint,
    )
    return rankings, report, tuned.to_record()


def rank_zero_shot_projects(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    checked_retrieval_index: RetrievalIndex,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    base_model: BaseModelHandle,
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The base model without any adapter, in each design: what fine-tuning adds.

    Same prompts, grounding, projects and (in rerank) validation-tuned fusion as
    the fine-tuned system, so the gap between ``zero_shot_<design>`` and
    ``llm_<design>`` is the effect of the adapter alone.

    Returns:
        ``zero_shot_rankings`` (systems ``zero_shot_rerank`` /
        ``zero_shot_generative``, rankings contract) and ``zero_shot_report`` (per
        design, the tuning report or the hallucination counts).
    """
    settings = RecommenderSettings.from_params(recommender_params)
    system = PairsSettings.from_params(pairs_params).system_prompt
    sets = project_sets(
        validation_projects,
        test_projects,
        partial_test_projects,
        settings.max_eval_projects,
    )
    frames: list[pd.DataFrame] = []
    reports: dict[str, Any] = {}
    scorer = (
        load_scorer(base_model, None, settings) if settings.zero_shot_designs else None
    )
    for design in settings.zero_shot_designs:
        design_settings = dataclasses.replace(settings, mode=design)
        ranker = build_ranker(
            design_settings,
            scorer,
            Roster(expert_roster),
            retriever=checked_retrieval_index,
            train_pairs=train_pairs,
            generative_system=system,
            name=f"zero_shot_{design}",
        )
        rankings, reports[ranker.name] = rank_system(
            ranker, design_settings, sets, system
        )
        frames.append(rankings)
    empty = pd.DataFrame(columns=list(RANKING_COLUMNS))
    return (pd.concat(frames, ignore_index=True) if frames else empty), reports


def train_cross_encoder_model(
    rerank_train_pairs: pd.DataFrame, cross_encoder_params: Mapping[str, Any]
) -> TrainedCrossEncoder:
    """The cross-encoder, fine-tuned from MiniLM on the LLM's rerank pairs.

    Args:
        rerank_train_pairs: The pointwise yes/no pairs of the training split.
        cross_encoder_params: ``cross_encoder`` parameters.

    Returns:
        ``cross_encoder``: the model and its training record.
    """
    settings = CrossEncoderSettings.from_params(cross_encoder_params)
    return train_cross_encoder(rerank_train_pairs, settings)


def rank_cross_encoder_projects(  # noqa: PLR0913, PLR0917 - one input per dataset
    checked_retrieval_index: RetrievalIndex,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    cross_encoder: TrainedCrossEncoder,
    recommender_params: Mapping[str, Any],
    cross_encoder_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The cross-encoder in the LLM's place in the rerank design.

    Same candidates (``recommender.candidates`` of the hybrid), prompt parts,
    projects, fusion and validation-tuned weight as ``llm_rerank``, whatever
    ``recommender.mode`` is: only the scorer differs.

    Returns:
        ``cross_encoder_rankings`` (system ``cross_encoder``, rankings contract) and
        ``cross_encoder_report`` (the tuning report and the training record).
    """
    settings = dataclasses.replace(
        RecommenderSettings.from_params(recommender_params), mode="rerank"
    )
    batch_size = CrossEncoderSettings.from_params(cross_encoder_params).batch_size
    ranker = build_ranker(
        settings,
        CrossEncoderScorer(cross_encoder, batch_size=batch_size),
        Roster(expert_roster),
        retriever=checked_retrieval_index,
        train_pairs=train_pairs,
        name="cross_encoder",
    )
    sets = project_sets(
        validation_projects,
        test_projects,
        partial_test_projects,
        settings.max_eval_projects,
    )
    rankings, report = rank_system(ranker, settings, sets, "")
    report["training"] = {
        key: value
        for key, value in cross_encoder.record.items()
        if key != "loss_history"
    }
    return rankings, report

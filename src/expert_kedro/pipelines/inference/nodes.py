"""Nodes of the inference pipeline: new agendas in, ranked roster experts out.

The model is loaded once per run (``load_recommender_model``) and the retriever is
fit once (``fit_candidate_retriever``); ``recommend_experts`` then ranks every
agenda with the ranker of ``recommender.mode``. The same functions back the
``expert-recommend`` CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import (
    build_ranker,
    load_scorer,
    parse_agenda_table,
    recommend,
)
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import build_retrievers
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.settings import PairsSettings

logger = logging.getLogger(__name__)


def parse_new_agendas(new_agendas: pd.DataFrame) -> pd.DataFrame:
    """Validate the client agendas (``case_id``, ``agenda`` JSON list).

    Raises:
        ValueError: For an empty / non-list / unreadable agenda, naming the case.
    """
    parsed = parse_agenda_table(new_agendas, "new_agendas")
    logger.info("Parsed %d new agenda(s).", len(parsed))
    return parsed


def load_recommender_model(
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    recommender_params: Mapping[str, Any],
) -> LLMScorer:
    """Base model + fine-tuned LoRA adapter, loaded once for the whole run.

    Raises:
        AdapterMismatchError: If the adapter was trained on another base model.
    """
    return load_scorer(
        base_model, lora_adapter, RecommenderSettings.from_params(recommender_params)
    )


def fit_candidate_retriever(  # noqa: PLR0917 - one input per catalog dataset
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    validation_projects: pd.DataFrame,
    clean_matches: pd.DataFrame,
    evaluation_params: Mapping[str, Any],
    recommender_params: Mapping[str, Any],
) -> Any:
    """The evaluation's hybrid retriever, fit on the training split (rerank mode).

    Returns:
        The fitted ``HybridRetriever``, or None in generative mode (not needed).
    """
    settings = RecommenderSettings.from_params(recommender_params)
    if settings.mode != "rerank":
        return None
    return build_retrievers(
        expert_roster,
        train_pairs,
        evaluation_params,
        validation_projects=validation_projects,
        train_answers=clean_matches,
    )["hybrid"]


def recommend_experts(  # noqa: PLR0917 - one input per catalog dataset
    parsed_agendas: pd.DataFrame,
    recommender_model: LLMScorer,
    candidate_retriever: Any,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Top-k roster experts per agenda, with roster profiles and latency metrics.

    Returns:
        ``recommendations`` (one row per case and rank: ``case_id, rank, expert_id,
        expert_name, score``, the profile fields, and ``generated_text`` when
        ``recommender.generate_text`` is true, or ``auto`` with
        ``pairs.output_format: rationale``) and ``inference_metrics``.
    """
    settings = RecommenderSettings.from_params(recommender_params)
    pairs = PairsSettings.from_params(pairs_params)
    output_format, generative_system = pairs.output_format, pairs.system_prompt
    ranker = build_ranker(
        settings,
        recommender_model,
        Roster(expert_roster),
        retriever=candidate_retriever,
        train_pairs=train_pairs,
        generative_system=generative_system,
    )
    return recommend(
        ranker,
        parsed_agendas,
        settings,
        generative_system=generative_system,
        with_text=settings.wants_text(output_format),
    )

"""Nodes of the inference pipeline: new agendas in, ranked roster experts out.

The agendas are checked first (``parse_new_agendas``: an unreadable agenda or
``as_of`` fails in seconds); the recommender is then loaded once per run
(``load_recommender``): the fine-tuned model, the saved retrieval index (nothing is
fit) and the fusion weight chosen from the parameters, the weight ``evaluation_llm``
tuned for this adapter, or the fallback. ``recommend_experts`` then ranks every
agenda. ``expert-recommend`` calls the same
``recommender.loader.load_recommender``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.recommender.agenda_table import parse_agenda_table
from expert_kedro.recommender.loader import LoadedRecommender
from expert_kedro.recommender.loader import load_recommender as load_from_datasets
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import RetrievalIndex, as_of_times
from expert_kedro.training_data.settings import PairsSettings

logger = logging.getLogger(__name__)


def parse_new_agendas(
    new_agendas: pd.DataFrame, retrieval_index: RetrievalIndex | None = None
) -> pd.DataFrame:
    """Validate the client agendas (``case_id``, ``agenda`` JSON list, and an
    optional ``as_of`` for back-tests: when each agenda is to be scored).

    Args:
        new_agendas: The raw agenda table.
        retrieval_index: The saved index: its timeline says how an ``as_of`` cell
            reads (a date or a project id), so an unreadable one fails here, before
            the model is loaded.

    Raises:
        ValueError: For an empty / non-list / unreadable agenda or ``as_of``,
            naming the case.
    """
    parsed = parse_agenda_table(new_agendas, "new_agendas")
    timeline = getattr(retrieval_index, "timeline", None)
    if timeline is not None and "as_of" in parsed.columns:
        as_of_times(timeline, parsed["as_of"], parsed["case_id"])
    logger.info("Parsed %d new agenda(s).", len(parsed))
    return parsed


def load_recommender(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    parsed_agendas: pd.DataFrame,
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    retrieval_index: RetrievalIndex,
    rerank_tuning: Mapping[str, Any] | None,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> LoadedRecommender:
    """Base model + fine-tuned adapter + saved retrieval index, loaded once.

    Args:
        parsed_agendas: The validated agendas: the model (the slow part of a run)
            is loaded only once they parse.
        base_model: The prepared base model.
        lora_adapter: The adapter version to serve (latest by default).
        retrieval_index: The candidate retriever built by the retrieval pipeline.
        rerank_tuning: The fusion weight tuned by ``evaluation_llm``; None until
            that pipeline has run.
        expert_roster: The roster.
        train_pairs: Training pairs (past questions shown per candidate).
        recommender_params: The ``recommender`` parameters.
        pairs_params: The ``pairs`` parameters (generative system prompt, output
            format).

    Raises:
        AdapterMismatchError: If the adapter was trained on another base model or
            prompt layout.
    """
    pairs = PairsSettings.from_params(pairs_params)
    logger.info("Loading the recommender for %d agenda(s).", len(parsed_agendas))
    return load_from_datasets(
        base_model,
        lora_adapter,
        RecommenderSettings.from_params(recommender_params),
        expert_roster=expert_roster,
        train_pairs=train_pairs,
        retrieval_index=retrieval_index,
        rerank_tuning=rerank_tuning,
        generative_system=pairs.system_prompt,
        output_format=pairs.output_format,
    )


def recommend_experts(
    parsed_agendas: pd.DataFrame, loaded_recommender: LoadedRecommender
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Top-k roster experts per agenda, with roster profiles and latency metrics.

    Returns:
        ``recommendations`` (one row per case and rank: ``case_id, rank, expert_id,
        expert_name, score``, the profile fields, and ``generated_text`` when
        ``recommender.generate_text`` is true, or ``auto`` with
        ``pairs.output_format: rationale``) and ``inference_metrics`` (with the
        fusion weight used and its source in rerank mode).
    """
    return loaded_recommender.recommend(parsed_agendas)

"""Nodes of the evaluation_llm pipeline: the LLM systems ranked on held-out projects.

* ``rank_llm_projects``: the fine-tuned adapter in ``recommender.mode``;
* ``rank_zero_shot_projects``: the base model without adapter, in each of
  ``recommender.zero_shot_designs``: what fine-tuning adds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.evaluation.llm_systems import _project_sets, _rank_system
from expert_kedro.evaluation.rankings import RANKING_COLUMNS
from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker, load_scorer
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.settings import PairsSettings


def rank_llm_projects(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    hybrid_retriever: Any,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    base_model: BaseModelHandle,
    lora_adapter: LoRAAdapterHandle,
    recommender_params: Mapping[str, Any],
    pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rankings of the LLM recommender on held-out projects, and its tuning report.

    Returns:
        ``llm_rankings`` (rankings contract, whole roster per project) and
        ``llm_rerank_tuning`` (fusion weight tuned on validation, or the
        free-generation hallucination counts in generative mode).
    """
    settings = RecommenderSettings.from_params(recommender_params)
    sets = _project_sets(
        validation_projects, test_projects, partial_test_projects, settings
    )
    system = PairsSettings.from_params(pairs_params).system_prompt
    ranker = build_ranker(
        settings,
        load_scorer(base_model, lora_adapter, settings),
        Roster(expert_roster),
        retriever=hybrid_retriever,
        train_pairs=train_pairs,
        generative_system=system,
    )
    return _rank_system(ranker, settings, sets, system)


def rank_zero_shot_projects(  # noqa: PLR0913, PLR0917 - one input per catalog dataset
    hybrid_retriever: Any,
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
    sets = _project_sets(
        validation_projects, test_projects, partial_test_projects, settings
    )
    system = PairsSettings.from_params(pairs_params).system_prompt
    frames: list[pd.DataFrame] = []
    reports: dict[str, Any] = {}
    if settings.zero_shot_designs:
        scorer = load_scorer(base_model, None, settings)
    for design in settings.zero_shot_designs:
        design_settings = dataclasses.replace(settings, mode=design)
        ranker = build_ranker(
            design_settings,
            scorer,
            Roster(expert_roster),
            retriever=hybrid_retriever,
            train_pairs=train_pairs,
            generative_system=system,
        )
        ranker.name = f"zero_shot_{design}"
        rankings, report = _rank_system(ranker, design_settings, sets, system)
        frames.append(rankings)
        reports[ranker.name] = report
    empty = pd.DataFrame(columns=list(RANKING_COLUMNS))
    return (pd.concat(frames, ignore_index=True) if frames else empty), reports

"""The fine-tuned recommender, loaded once from the catalog's datasets; nothing is fit.

The inference pipeline's ``load_recommender_node`` and ``expert-recommend`` both call
:func:`load_recommender` and then :meth:`LoadedRecommender.recommend`, so a CLI call
ranks exactly as a pipeline run: the same saved retrieval index, the same adapter
and the same fusion weight choice (``rerank_tuning.choose_retrieval_weight``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.recommender.adapters import load_scorer
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.rerank_tuning import WeightChoice, choose_retrieval_weight
from expert_kedro.recommender.service import build_ranker, recommend
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval.index import RetrievalIndex


@dataclass(frozen=True)
class LoadedRecommender:
    """A ranker ready to serve agendas, and what :func:`recommend` needs beside it.

    Attributes:
        ranker: Rerank or generative ranker over the roster.
        settings: The ``recommender`` settings, fusion weight chosen.
        generative_system: System prompt of the generative pairs.
        with_text: Whether ``generated_text`` is added.
        weight: The rerank fusion weight's choice (None in generative mode).
    """

    ranker: RerankRanker | GenerativeRanker
    settings: RecommenderSettings
    generative_system: str
    with_text: bool
    weight: WeightChoice | None = None

    def recommend(self, agendas: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
        """:func:`recommend` every agenda; the metrics also name the fusion weight."""
        rows, metrics = recommend(
            self.ranker,
            agendas,
            self.settings,
            generative_system=self.generative_system,
            with_text=self.with_text,
        )
        if self.weight is not None:
            metrics["retrieval_weight"] = self.weight.retrieval_weight
            metrics["retrieval_weight_source"] = self.weight.source
        return rows, metrics


def load_recommender(  # noqa: PLR0913 - one argument per catalog dataset
    base_model: BaseModelHandle | str,
    adapter: LoRAAdapterHandle,
    settings: RecommenderSettings,
    *,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame | None,
    retrieval_index: RetrievalIndex | None,
    rerank_tuning: Mapping[str, Any] | None,
    generative_system: str,
    output_format: str,
) -> LoadedRecommender:
    """The fine-tuned recommender of ``settings.mode``, loaded once; nothing is fit.

    Used by the inference pipeline and by ``expert-recommend`` alike. In rerank mode
    the fusion weight is chosen first (``rerank_tuning.choose_retrieval_weight``:
    parameters, then the weight tuned for this adapter, then the fallback).

    Args:
        base_model: ``base_model`` handle.
        adapter: ``lora_adapter`` handle (one version).
        settings: ``recommender`` settings.
        expert_roster: The roster.
        train_pairs: Training pairs (candidate history).
        retrieval_index: The saved candidate retriever (rerank mode).
        rerank_tuning: The latest ``rerank_tuning`` record, or None.
        generative_system: System prompt of the generative pairs.
        output_format: ``pairs.output_format`` (``generated_text`` in auto mode).

    Raises:
        AdapterMismatchError: If the adapter belongs to another base model or
            prompt layout.
        ValueError: If rerank mode has no retrieval index.
    """
    weight = None
    if settings.mode == "rerank":
        if retrieval_index is None:
            raise ValueError(
                "Rerank mode needs the retrieval index; build it with "
                "`kedro run --pipelines=retrieval`."
            )
        weight = choose_retrieval_weight(
            settings,
            rerank_tuning,
            adapter,
            index_fingerprint=retrieval_index.fingerprint,
        )
        settings = replace(settings, retrieval_weight=weight.retrieval_weight)
    ranker = build_ranker(
        settings,
        load_scorer(base_model, adapter, settings),
        Roster(expert_roster),
        retriever=retrieval_index,
        train_pairs=train_pairs,
        generative_system=generative_system,
    )
    return LoadedRecommender(
        ranker, settings, generative_system, settings.wants_text(output_format), weight
    )

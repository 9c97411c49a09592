"""Build the retrievers from parameters (one place, reused anywhere).

The sub-groups ``index``, ``bm25``, ``dense`` and ``hybrid`` are read through the
settings classes of ``retrieval.settings`` (defaults and validation live there), from
the ``retrieval`` group or from a group holding the same sub-groups (the
``evaluation`` group of ``parameters_evaluation.yml``). Each function also takes the
settings object itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.retrieval.bm25 import BM25Retriever
from expert_kedro.retrieval.dense import DenseRetriever
from expert_kedro.retrieval.encoder import load_sentence_encoder
from expert_kedro.retrieval.expert_documents import (
    ExpertDocuments,
    build_expert_documents,
)
from expert_kedro.retrieval.hybrid import HybridRetriever, tune_fusion_weight
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.settings import (
    BM25Settings,
    DenseSettings,
    HybridSettings,
    RetrievalSettings,
)

logger = logging.getLogger(__name__)


def fit_bm25(
    documents: ExpertDocuments, params: Mapping[str, Any] | BM25Settings
) -> BM25Retriever:
    """BM25 retriever fit on ``documents`` with the ``bm25`` parameters."""
    settings = BM25Settings.coerce(params)
    return BM25Retriever(
        k1=settings.k1,
        b=settings.b,
        method=settings.method,
        stopwords=settings.stopwords,
    ).fit(documents)


def fit_dense(
    documents: ExpertDocuments, params: Mapping[str, Any] | DenseSettings
) -> DenseRetriever:
    """Dense retriever fit on ``documents`` with the ``dense`` parameters."""
    settings = DenseSettings.coerce(params)
    encoder = load_sentence_encoder(
        settings.model_path, settings.device, settings.batch_size
    )
    return DenseRetriever(encoder, profile_weight=settings.profile_weight).fit(
        documents
    )


def fit_popularity(documents: ExpertDocuments) -> PopularityRetriever:
    """Training-frequency baseline fit on ``documents``."""
    return PopularityRetriever().fit(documents)


def tune_hybrid(
    bm25: BM25Retriever,
    dense: DenseRetriever,
    validation_projects: pd.DataFrame | None,
    params: Mapping[str, Any] | HybridSettings,
) -> tuple[HybridRetriever, dict[str, Any]]:
    """Hybrid retriever whose BM25 weight is tuned on VALIDATION projects.

    A fixed ``bm25_weight`` parameter skips tuning.

    Args:
        bm25: Fitted BM25 retriever.
        dense: Fitted dense retriever (same documents).
        validation_projects: Validation projects (``agenda``,
            ``acceptable_expert_ids``); only needed when tuning.
        params: The ``hybrid`` parameters.

    Returns:
        ``(hybrid, tuning)`` where ``tuning`` records the fusion, the chosen weight
        and the validation metrics of every weight tried.

    Raises:
        ValueError: If tuning is requested without validation projects.
    """
    settings = HybridSettings.coerce(params)
    fusion, rrf_k, fixed = settings.fusion, settings.rrf_k, settings.bm25_weight
    tuning: dict[str, Any] = {"fusion": fusion, "rrf_k": rrf_k}
    if fixed is not None:
        weight = float(fixed)
        tuning.update({"bm25_weight": weight, "tuned_on": None, "grid": []})
    else:
        if validation_projects is None or validation_projects.empty:
            raise ValueError(
                "hybrid.bm25_weight is null (tune it) but no validation projects were "
                "given; pass validation_projects or set a fixed hybrid.bm25_weight."
            )
        agendas = [list(agenda) for agenda in validation_projects["agenda"]]
        metric = settings.tuning_metric
        weight, table = tune_fusion_weight(
            bm25.score_all(agendas),
            dense.score_all(agendas),
            bm25.expert_ids,
            [list(ids) for ids in validation_projects["acceptable_expert_ids"]],
            list(settings.weight_grid),
            fusion=fusion,
            rrf_k=rrf_k,
            metric=metric,
        )
        tuning.update(
            {
                "bm25_weight": weight,
                "tuned_on": "validation",
                "tuning_metric": metric,
                "n_validation_projects": len(agendas),
                "grid": table.round(6).to_dict("records"),
            }
        )
    hybrid = HybridRetriever(
        bm25, dense, bm25_weight=weight, fusion=fusion, rrf_k=rrf_k
    )
    return hybrid, tuning


def as_retrieval_settings(
    params: Mapping[str, Any] | RetrievalSettings,
) -> RetrievalSettings:
    """Settings from a ``RetrievalSettings`` or a group holding its sub-groups.

    Only ``index``, ``bm25``, ``dense`` and ``hybrid`` are read, so the ``evaluation``
    group (which also holds ``seed``, ``bootstrap``, ...) is accepted as it is.
    """
    if isinstance(params, RetrievalSettings):
        return params
    # Only the retrieval sub-groups of a wider group (e.g. evaluation) are read.
    groups = ("index", "bm25", "dense", "hybrid", "prior")
    return RetrievalSettings.from_params(
        {group: params[group] for group in groups if group in params}
    )


def build_retrievers(
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    params: Mapping[str, Any] | RetrievalSettings,
    *,
    validation_projects: pd.DataFrame | None = None,
    train_answers: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """All retrievers of the evaluation, fit on the TRAIN pairs.

    Use this outside the evaluation pipeline, e.g. to mine hard negatives for
    training: ``build_retrievers(...)["hybrid"].candidates(agendas, k=10)``. Note that
    a training agenda is itself indexed, so its own expert will rank high: drop the
    acceptable experts from the candidates to get negatives.

    Args:
        expert_roster: The roster.
        train_pairs: Training (project, expert) pairs.
        params: ``RetrievalSettings``, the ``retrieval`` parameter group, or a group
            holding the same sub-groups (``evaluation``; other keys are ignored).
        validation_projects: Needed when the hybrid weight is tuned.
        train_answers: Optional ``clean_matches`` rows for answer indexing.

    Returns:
        ``{"documents", "popularity", "bm25", "dense", "hybrid", "hybrid_tuning"}``.
    """
    settings = as_retrieval_settings(params)
    include_answers = settings.index.include_answers
    if include_answers and train_answers is None:
        raise ValueError(
            "index.include_answers is true but no answers table was given; pass "
            "clean_matches as train_answers or set index.include_answers: false."
        )
    documents = build_expert_documents(
        expert_roster, train_pairs, train_answers if include_answers else None
    )
    bm25 = fit_bm25(documents, settings.bm25)
    dense = fit_dense(documents, settings.dense)
    hybrid, tuning = tune_hybrid(bm25, dense, validation_projects, settings.hybrid)
    return {
        "documents": documents,
        "popularity": fit_popularity(documents),
        "bm25": bm25,
        "dense": dense,
        "hybrid": hybrid,
        "hybrid_tuning": tuning,
    }

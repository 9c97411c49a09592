"""Build the retrievers from the ``evaluation`` parameters (one place, reused anywhere).

Parameter layout (``conf/base/parameters_evaluation.yml``, group ``evaluation``)::

    index: {include_answers: false}
    bm25: {k1: 1.5, b: 0.75, method: lucene, stopwords: en}
    dense: {profile_weight: 0.3, batch_size: 64, device: cpu, model_path: null}
    hybrid: {
        fusion: zscore,
        rrf_k: 60,
        tuning_metric: mrr,
        weight_grid: [0.0, 0.1, ...],
        bm25_weight: null,
    }
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

logger = logging.getLogger(__name__)


def fit_bm25(documents: ExpertDocuments, params: Mapping[str, Any]) -> BM25Retriever:
    """BM25 retriever fit on ``documents`` with the ``bm25`` parameters."""
    return BM25Retriever(
        k1=float(params.get("k1", 1.5)),
        b=float(params.get("b", 0.75)),
        method=str(params.get("method", "lucene")),
        stopwords=params.get("stopwords", "en"),
    ).fit(documents)


def fit_dense(documents: ExpertDocuments, params: Mapping[str, Any]) -> DenseRetriever:
    """Dense retriever fit on ``documents`` with the ``dense`` parameters."""
    encoder = load_sentence_encoder(
        params.get("model_path"),
        str(params.get("device", "cpu")),
        int(params.get("batch_size", 64)),
    )
    return DenseRetriever(
        encoder, profile_weight=float(params.get("profile_weight", 0.3))
    ).fit(documents)


def fit_popularity(documents: ExpertDocuments) -> PopularityRetriever:
    """Training-frequency baseline fit on ``documents``."""
    return PopularityRetriever().fit(documents)


def tune_hybrid(
    bm25: BM25Retriever,
    dense: DenseRetriever,
    validation_projects: pd.DataFrame | None,
    params: Mapping[str, Any],
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
    fusion = str(params.get("fusion", "zscore"))
    rrf_k = int(params.get("rrf_k", 60))
    fixed = params.get("bm25_weight")
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
        metric = str(params.get("tuning_metric", "mrr"))
        weight, table = tune_fusion_weight(
            bm25.score_all(agendas),
            dense.score_all(agendas),
            bm25.expert_ids,
            [list(ids) for ids in validation_projects["acceptable_expert_ids"]],
            [float(w) for w in params.get("weight_grid", [i / 10 for i in range(11)])],
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


def build_retrievers(
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    params: Mapping[str, Any],
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
        params: The ``evaluation`` parameter group.
        validation_projects: Needed when the hybrid weight is tuned.
        train_answers: Optional ``clean_matches`` rows for answer indexing.

    Returns:
        ``{"documents", "popularity", "bm25", "dense", "hybrid", "hybrid_tuning"}``.
    """
    include_answers = bool(params.get("index", {}).get("include_answers", False))
    if include_answers and train_answers is None:
        raise ValueError(
            "index.include_answers is true but no answers table was given; pass "
            "clean_matches as train_answers or set index.include_answers: false."
        )
    documents = build_expert_documents(
        expert_roster, train_pairs, train_answers if include_answers else None
    )
    bm25 = fit_bm25(documents, params.get("bm25", {}))
    dense = fit_dense(documents, params.get("dense", {}))
    hybrid, tuning = tune_hybrid(
        bm25, dense, validation_projects, params.get("hybrid", {})
    )
    return {
        "documents": documents,
        "popularity": fit_popularity(documents),
        "bm25": bm25,
        "dense": dense,
        "hybrid": hybrid,
        "hybrid_tuning": tuning,
    }

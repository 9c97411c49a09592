"""Building a ``RetrievalIndex``: fit its parts on TRAIN, tune its fusion on VALIDATION.

::

    documents = build_documents(roster, train_pairs, clean_matches, settings)
    index = fit_retrieval_index(documents, settings)  # BM25 + dense + popularity
    index = tune_retrieval_index(index, validation_projects)  # fusion weights
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.retrieval.encoder import EncoderInfo
from expert_kedro.retrieval.expert_documents import (
    ExpertDocuments,
    build_expert_documents,
)
from expert_kedro.retrieval.factory import fit_bm25, fit_dense, tune_hybrid
from expert_kedro.retrieval.hybrid import HybridRetriever
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.prior import PriorFusedRetriever, tune_prior
from expert_kedro.retrieval.recency import RecencyFusion, tune_recency
from expert_kedro.retrieval.settings import RetrievalSettings
from expert_kedro.retrieval.timeline import Timeline


def build_documents(
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame | None,
    settings: RetrievalSettings,
) -> ExpertDocuments:
    """The index's per-expert texts (and bookings timeline) from TRAIN pairs only.

    Args:
        expert_roster: The roster: the only experts the index can return.
        train_pairs: Training (project, expert) pairs: the only agendas indexed.
        clean_matches: Answers of every match (only train pairs' answers are indexed,
            when ``settings.index.include_answers``) and when each project was
            asked (``settings.recency.time_from``); None when neither is used.
        settings: The retrieval settings.
    """
    time_from = settings.recency.time_from
    # A project-id time is read from the pairs themselves (Timeline.from_pairs).
    dated = time_from is not None and time_from != "project_id"
    if clean_matches is None and (settings.index.include_answers or dated):
        raise ValueError(
            "clean_matches is needed: the retrieval settings index answers or "
            "read project dates (retrieval.index.include_answers, "
            f"retrieval.recency.time_from: {time_from})."
        )
    timeline = (
        None
        if time_from is None
        else Timeline.from_pairs(
            train_pairs, clean_matches, expert_roster["expert_id"], time_from
        )
    )
    return build_expert_documents(
        expert_roster,
        train_pairs,
        clean_matches if settings.index.include_answers else None,
        timeline=timeline,
    )


def fit_retrieval_index(
    documents: ExpertDocuments, settings: RetrievalSettings
) -> RetrievalIndex:
    """Fit BM25, dense and popularity on leak-checked TRAIN documents (no fusion yet).

    Args:
        documents: Expert documents from the training split.
        settings: How to build the index.

    Returns:
        An untuned index; ``tune_retrieval_index`` sets the fusion weight.
    """
    bm25 = fit_bm25(documents, settings.bm25)
    dense = fit_dense(documents, settings.dense)
    popularity = PopularityRetriever().fit(documents)
    return RetrievalIndex(
        bm25=bm25,
        dense=dense,
        popularity=popularity,
        encoder=EncoderInfo.of(dense.encoder, settings.dense.model_path),
        settings=settings,
        fingerprint=documents.fingerprint(),
        indexed_project_ids=documents.indexed_project_ids,
        indexed_agenda_digests=frozenset(documents.indexed_agenda_digests()),
        timeline=documents.timeline,
        fit_seconds={
            "bm25": round(bm25.fit_seconds, 3),
            "dense": round(dense.fit_seconds, 3),
        },
    )


def tune_retrieval_index(
    index: RetrievalIndex, validation_projects: pd.DataFrame | None
) -> RetrievalIndex:
    """Set the fusion weights, each fixed by its parameter or tuned on VALIDATION.

    The BM25 weight first (``retrieval.hybrid``), then the activity prior's at that
    BM25 weight (``retrieval.prior``), then the recency window and weight on top of
    both (``retrieval.recency``).

    Args:
        index: A fitted index.
        validation_projects: Validation projects (``agenda``,
            ``acceptable_expert_ids``); only read when a weight is tuned.

    Returns:
        The index with its fusion weights and tuning record.
    """
    settings = index.settings
    hybrid, tuning = tune_hybrid(
        index.bm25, index.dense, validation_projects, settings.hybrid
    )
    prior_weight, tuning["prior"] = tune_prior(
        hybrid,
        index.popularity.counts,
        validation_projects,
        settings.prior,
        settings.hybrid.tuning_metric,
    )
    recency, tuning["recency"] = _tune_recency(
        index, hybrid, prior_weight, validation_projects
    )
    return index.with_fusion(hybrid.bm25_weight, tuning, prior_weight, recency)


def _tune_recency(
    index: RetrievalIndex,
    hybrid: HybridRetriever,
    prior_weight: float,
    validation_projects: pd.DataFrame | None,
) -> tuple[RecencyFusion | None, dict[str, Any]]:
    """The recency term on top of the tuned hybrid and prior."""
    settings = index.settings
    stage = PriorFusedRetriever(
        hybrid, index.popularity.counts, prior_weight=prior_weight
    )
    needs_scores = (
        index.timeline is not None
        and settings.recency.time_from is not None
        and (settings.recency.weight is None or settings.recency.window is None)
        and validation_projects is not None
        and not validation_projects.empty
    )
    scores = (
        stage.score_all([list(a) for a in validation_projects["agenda"]])
        if needs_scores
        else np.empty((0, len(index.expert_ids)))
    )
    return tune_recency(
        scores,
        index.timeline,
        validation_projects,
        settings.recency,
        expert_ids=index.expert_ids,
        fusion=settings.hybrid.fusion,
        rrf_k=int(settings.hybrid.rrf_k),
        metric=settings.hybrid.tuning_metric,
    )

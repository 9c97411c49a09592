"""Nodes of the retrieval pipeline: the fitted candidate retriever, built once.

The index is what every later stage retrieves with (hard negatives, evaluation
baselines, inference, the CLI), so it is built from the TRAIN split only, proven
free of validation and test projects, and its fusion weight is tuned on VALIDATION.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.retrieval import (
    ExpertDocuments,
    RetrievalIndex,
    RetrievalSettings,
    build_documents,
    check_no_leakage,
    fit_retrieval_index,
    tune_retrieval_index,
)

logger = logging.getLogger(__name__)


def build_retrieval_documents(  # noqa: PLR0917 - one input per catalog dataset
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    params: Mapping[str, Any],
) -> ExpertDocuments:
    """Per-expert index texts from the TRAIN pairs, checked for held-out projects.

    Args:
        expert_roster: The roster: the only experts the index can return.
        train_pairs: Training (project, expert) pairs: the only agendas indexed.
        clean_matches: Answers of every match; only train pairs' answers are
            indexed, and only when ``retrieval.index.include_answers`` is true.
            Also when each training project was asked (``created_at``, or the id:
            ``retrieval.recency.time_from``), for the recent-activity signal.
        validation_projects: Held-out projects that tune the fusion weight.
        test_projects: Held-out projects of the final report.
        params: The ``retrieval`` parameter group.

    Returns:
        Leak-checked expert documents.

    Raises:
        IndexLeakageError: If a validation or test project (by id or identical
            agenda) would be indexed.
    """
    documents = build_documents(
        expert_roster,
        train_pairs,
        clean_matches,
        RetrievalSettings.from_params(params),
    )
    check_no_leakage(
        documents, {"validation": validation_projects, "test": test_projects}
    )
    return documents


def fit_retrieval_index_parts(
    retrieval_documents: ExpertDocuments, params: Mapping[str, Any]
) -> RetrievalIndex:
    """Fit BM25, the MiniLM expert embeddings and the popularity counts.

    Returns:
        The index without its fusion weight.
    """
    return fit_retrieval_index(
        retrieval_documents, RetrievalSettings.from_params(params)
    )


def tune_retrieval_fusion(
    untuned_retrieval_index: RetrievalIndex, validation_projects: pd.DataFrame
) -> tuple[RetrievalIndex, dict[str, Any]]:
    """Choose the BM25/dense fusion weight on VALIDATION projects only.

    Returns:
        The tuned index and a report (what it holds, the tuning grid, fit times).
    """
    index = tune_retrieval_index(untuned_retrieval_index, validation_projects)
    report = {
        **index.summary(),
        "fingerprint": index.fingerprint,
        "tuning": index.tuning,
        "fit_seconds": index.fit_seconds,
    }
    logger.info("Retrieval index: %s", index.summary(n_experts=0))
    return index, report

"""Nodes of the rerank_pairs pipeline.

``build_rerank_pairs`` turns the generative (project, expert) pairs into pointwise
``yes``/``no`` examples with hard negatives mined by the saved retrieval index (fit
on the training split by the retrieval pipeline); ``select_training_pairs`` hands
model_training the pairs of the configured ``recommender.mode``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id, as_id_list
from expert_kedro.recommender.grounding import roster_lookup
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import (
    CrossFittedScorer,
    RetrievalIndex,
    cross_fitted_scorer,
    retriever_times,
    top_k,
)
from expert_kedro.training_data.activity import candidate_activity
from expert_kedro.training_data.regions import region_lines
from expert_kedro.training_data.rerank_pairs import (
    PAIR_COLUMNS,
    ActivityFn,
    ExpertHistory,
    build_rerank_examples,
)
from expert_kedro.training_data.settings import RerankPairsSettings

logger = logging.getLogger(__name__)


def training_pairs(
    train_pairs: pd.DataFrame, augmented_train_pairs: pd.DataFrame
) -> pd.DataFrame:
    """Original + partial-agenda training pairs, each (project, expert, input) once.

    ``augmented_train_pairs`` may or may not already hold the originals
    (``augmentation.include_original``); the union is de-duplicated either way.
    """
    frames = [f for f in (train_pairs, augmented_train_pairs) if f is not None]
    merged = pd.concat([f[list(PAIR_COLUMNS)] for f in frames], ignore_index=True)
    before = len(merged)
    merged = merged.drop_duplicates(
        subset=["project_id", "expert_id", "input"], keep="first"
    ).reset_index(drop=True)
    logger.info(
        "Training pairs: %d rows after removing %d duplicate(s) between train_pairs "
        "and augmented_train_pairs.",
        len(merged),
        before - len(merged),
    )
    return merged


def _acceptable(frame: pd.DataFrame) -> dict[str, set[str]]:
    return {
        as_id(pid): set(as_id_list(group["expert_id"]))
        for pid, group in frame.groupby("project_id")
    }


def _project_times(
    retrieval_index: RetrievalIndex, validation_projects: pd.DataFrame
) -> Callable[[Sequence[str]], np.ndarray | None]:
    """When each project was asked, as the index's recency term reads it.

    Training projects: the index's own record; validation projects: their row.
    None when the index has no timeline.
    """
    rows = validation_projects.drop(columns=["agenda"], errors="ignore")
    rows = rows.assign(project_id=rows["project_id"].map(as_id)).set_index("project_id")

    def times_of(project_ids: Sequence[str]) -> np.ndarray | None:
        ids = pd.Index([as_id(p) for p in project_ids], name="project_id")
        return retriever_times(retrieval_index, rows.reindex(ids).reset_index())

    return times_of


def _candidate_scorer(
    retrieval_index: RetrievalIndex,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame,
    negatives: RerankPairsSettings,
) -> CrossFittedScorer:
    """The saved index, or with ``cross_fit_folds`` an index per fold for the
    training agendas (``retrieval.cross_fit`` says why)."""
    if not negatives.cross_fit_folds:
        return CrossFittedScorer(retrieval_index, {})
    return cross_fitted_scorer(
        retrieval_index,
        expert_roster,
        train_pairs,
        clean_matches,
        folds=negatives.cross_fit_folds,
        seed=negatives.seed,
    )


def _candidate_ranker(
    scorer: CrossFittedScorer,
    negatives: RerankPairsSettings,
    times_of: Callable[[Sequence[str]], np.ndarray | None],
) -> Callable[[list[list[str]], list[str]], list[list[str]]]:
    """Ranks the roster for agendas with the candidate stage: top ids each.

    Deep enough for the negatives: a few more than the hard negatives (the
    acceptable experts are skipped), or the whole pool they are drawn from. With
    recent activity in the index, each agenda is scored as of its project's time
    (``times_of``), as evaluation and the ranking validation score them.
    """
    expert_ids = scorer.index.expert_ids
    depth = max(negatives.hard_negatives + 10, negatives.negative_pool or 0)
    depth = min(len(expert_ids), depth)

    def rank_candidates(
        agendas: list[list[str]], project_ids: list[str]
    ) -> list[list[str]]:
        scores = scorer.score_all(agendas, project_ids, times_of(project_ids))
        ids, _ = top_k(scores, expert_ids, depth)
        return [as_id_list(row) for row in ids]

    return rank_candidates


def _activity_counter(
    retrieval_index: RetrievalIndex,
    window: int,
    times_of: Callable[[Sequence[str]], np.ndarray | None],
) -> ActivityFn | None:
    """Counts the ``Activity:`` lines as of each project's time (None: no line)."""
    activity = candidate_activity(retrieval_index, window, "build_rerank_pairs")
    if activity is None:
        return None
    return lambda project_ids: activity.counts(times_of(project_ids), len(project_ids))


def _example_arguments(
    settings: RecommenderSettings,
    negatives: RerankPairsSettings,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
) -> dict[str, Any]:
    """Keyword arguments of ``build_rerank_examples`` shared by both splits: the
    negatives and the prompt layout."""
    # Once per run (not per example): experts whose prompts lack the line, or no
    # region line at all when the roster has no usable location.
    candidate_region, agenda_region = region_lines(
        expert_roster["expert_location"],
        settings.candidate_region,
        settings.agenda_region,
        "build_rerank_pairs",
    )
    return {
        "system": settings.rerank_system_prompt,
        "n_hard": negatives.hard_negatives,
        "n_random": negatives.random_negatives,
        "seed": negatives.seed,
        "pool": negatives.negative_pool,
        "history": ExpertHistory(train_pairs) if settings.history_questions else None,
        "history_questions": settings.history_questions,
        "candidate_region": candidate_region,
        "agenda_region": agenda_region,
    }


def build_rerank_pairs(  # noqa: PLR0917 - one input per catalog dataset
    train_pairs: pd.DataFrame,
    augmented_train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame,
    validation_projects: pd.DataFrame,
    expert_roster: pd.DataFrame,
    clean_matches: pd.DataFrame,
    retrieval_index: RetrievalIndex,
    recommender_params: Mapping[str, Any],
    rerank_pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Pointwise rerank examples for the training and validation splits.

    Hard negatives come from the hybrid of the saved retrieval index (fit on
    ``train_pairs`` only), the candidates the reranker faces at inference. A
    project's acceptable experts are never negatives.

    Args:
        train_pairs: Original training pairs (also the retriever's index).
        augmented_train_pairs: Partial-agenda training pairs.
        validation_pairs: Validation pairs.
        validation_projects: Validation projects (acceptable experts).
        expert_roster: The roster.
        clean_matches: Answers and project times, to fit the cross-fitting folds'
            indexes as the retrieval pipeline fit the saved one.
        retrieval_index: The candidate retriever of the retrieval pipeline.
        recommender_params: ``recommender`` parameters (prompt layout).
        rerank_pairs_params: ``rerank_pairs`` parameters (negatives, seed).

    Returns:
        ``rerank_train_pairs``, ``rerank_validation_pairs`` (``train_pairs``
        columns, ``output`` in {yes, no}) and a report.
    """
    settings = RecommenderSettings.from_params(recommender_params)
    negatives = RerankPairsSettings.from_params(rerank_pairs_params)
    times_of = _project_times(retrieval_index, validation_projects)
    scorer = _candidate_scorer(
        retrieval_index, expert_roster, train_pairs, clean_matches, negatives
    )
    rank_candidates = _candidate_ranker(scorer, negatives, times_of)
    activity = _activity_counter(retrieval_index, settings.candidate_activity, times_of)
    roster = roster_lookup(expert_roster)
    train_source = training_pairs(train_pairs, augmented_train_pairs)
    common = _example_arguments(settings, negatives, expert_roster, train_pairs)
    common["activity"] = activity
    rerank_train, train_stats = build_rerank_examples(
        train_source, roster, _acceptable(train_pairs), rank_candidates, **common
    )
    validation_acceptable = {
        as_id(pid): set(as_id_list(ids))
        for pid, ids in validation_projects[
            ["project_id", "acceptable_expert_ids"]
        ].itertuples(index=False)
    }
    rerank_validation, validation_stats = build_rerank_examples(
        validation_pairs, roster, validation_acceptable, rank_candidates, **common
    )
    report = {
        "hard_negatives": negatives.hard_negatives,
        "random_negatives": negatives.random_negatives,
        "seed": negatives.seed,
        "negative_pool": negatives.negative_pool,
        "cross_fit_folds": negatives.cross_fit_folds,
        "history_questions": settings.history_questions,
        "candidate_region": common["candidate_region"],
        "agenda_region": common["agenda_region"],
        "candidate_activity": settings.candidate_activity if activity else 0,
        "train": {**train_stats, "rows": len(rerank_train)},
        "validation": {**validation_stats, "rows": len(rerank_validation)},
    }
    return rerank_train, rerank_validation, report


def select_training_pairs(  # noqa: PLR0917 - one input per catalog dataset
    train_pairs: pd.DataFrame,
    augmented_train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame,
    rerank_train_pairs: pd.DataFrame,
    rerank_validation_pairs: pd.DataFrame,
    recommender_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The examples model_training fits for the configured ``recommender.mode``.

    * ``generative``: original + partial-agenda pairs / validation pairs;
    * ``rerank``: the rerank examples, plus the generative pairs when
      ``recommender.rerank_with_generative_pairs`` (one adapter that can also write
      the rationale of the chosen expert; the system prompts tell the tasks apart).

    Returns:
        ``training_examples`` and ``validation_examples`` (``train_pairs`` columns).
    """
    settings = RecommenderSettings.from_params(recommender_params)
    generative_train = training_pairs(train_pairs, augmented_train_pairs)
    if settings.mode == "generative":
        chosen = (generative_train, validation_pairs[list(PAIR_COLUMNS)])
    else:
        train_parts = [rerank_train_pairs[list(PAIR_COLUMNS)]]
        validation_parts = [rerank_validation_pairs[list(PAIR_COLUMNS)]]
        if settings.rerank_with_generative_pairs:
            train_parts.append(generative_train)
            validation_parts.append(validation_pairs[list(PAIR_COLUMNS)])
        chosen = (
            pd.concat(train_parts, ignore_index=True),
            pd.concat(validation_parts, ignore_index=True),
        )
    logger.info(
        "recommender.mode=%s: %d training and %d validation examples.",
        settings.mode,
        len(chosen[0]),
        len(chosen[1]),
    )
    return chosen

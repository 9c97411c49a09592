"""Candidate lists of training projects from indexes fit without them (cross-fitting).

The retrieval index holds every training agenda in its answerer's document and
counts the booking in the activity prior, so it ranks a training project's own
answerer far higher than a held-out project's (on the Stack Exchange sites first in
60-97% of training projects against 31-38% of validation projects,
``benchmarks/candidate_leak.py``). Hard negatives drawn from such a candidate list
come from a list the reranker never faces: one where the candidate stage is almost
always right.

Cross-fitting splits the training projects into ``folds`` groups (a seeded shuffle
of their ids) and scores each group's agendas with an index fit on the other groups'
pairs only, with the saved index's settings and fusion weights, so a training
project's candidate list looks like a held-out project's. Every other agenda (the
validation projects) is scored by the saved index::

    scorer = cross_fitted_scorer(
        index, roster, train_pairs, clean_matches, folds=5, seed=13
    )
    scores = scorer.score_all(agendas, project_ids, times)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id, sorted_ids
from expert_kedro.retrieval.base import Agenda
from expert_kedro.retrieval.expert_documents import ExpertDocuments
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.index_fitting import build_documents, fit_retrieval_index

logger = logging.getLogger(__name__)


def assign_folds(
    project_ids: Sequence[object], folds: int, seed: int
) -> dict[str, int]:
    """Each project's fold: a seeded shuffle of the sorted ids, dealt in turn.

    Args:
        project_ids: Training project ids (repeats allowed).
        folds: Number of folds (>= 2).
        seed: Seed of the shuffle.

    Returns:
        Project id -> fold in ``range(folds)``; fold sizes differ by at most one.

    Raises:
        ValueError: If ``folds`` < 2 or there are fewer projects than folds.
    """
    ids = sorted_ids({as_id(p) for p in project_ids})
    if folds < 2 or len(ids) < folds:
        raise ValueError(
            f"rerank_pairs.cross_fit_folds must be >= 2 and at most the number of "
            f"training projects ({len(ids)}); got {folds}."
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[i]: position % folds for position, i in enumerate(order)}


class CrossFittedScorer:
    """Scores agendas with the index that never saw their project.

    Args:
        index: The saved retrieval index (for agendas of other projects).
        fold_indexes: Training project id -> the index fit without its fold.
    """

    def __init__(
        self, index: RetrievalIndex, fold_indexes: Mapping[str, RetrievalIndex]
    ) -> None:
        for other in {id(i): i for i in fold_indexes.values()}.values():
            if not np.array_equal(other.expert_ids, index.expert_ids):
                raise ValueError(
                    "A fold index lists other experts than the saved index; both "
                    "must be built from the same roster."
                )
        self.index = index
        self.fold_indexes = dict(fold_indexes)

    def score_all(
        self,
        agendas: Sequence[Agenda],
        project_ids: Sequence[object],
        times: np.ndarray | None = None,
    ) -> np.ndarray:
        """Candidate-stage scores, ``[len(agendas), n_experts]``.

        Args:
            agendas: Agendas, each a list of questions.
            project_ids: The project of each agenda (picks its index).
            times: When each agenda was asked (None: now).
        """
        scores = np.empty((len(agendas), len(self.index.expert_ids)))
        rows: dict[int, list[int]] = {}
        chosen: dict[int, RetrievalIndex] = {}
        for row, project_id in enumerate(project_ids):
            index = self.fold_indexes.get(as_id(project_id), self.index)
            rows.setdefault(id(index), []).append(row)
            chosen[id(index)] = index
        for key, members in rows.items():
            part = None if times is None else np.asarray(times)[members]
            scores[members] = chosen[key].score_all([agendas[r] for r in members], part)
        return scores


def _fold_index(
    index: RetrievalIndex, documents: ExpertDocuments, heldout: set[str]
) -> RetrievalIndex:
    """Fit the parts on ``documents``, fuse with the saved index's weights."""
    indexed = heldout & documents.indexed_project_ids
    if indexed:  # a bug, not bad input: the fold's pairs were filtered out above
        raise RuntimeError(f"Fold projects were indexed: {sorted_ids(indexed)[:5]}")
    fitted = fit_retrieval_index(documents, index.settings)
    return fitted.with_fusion(
        float(index.bm25_weight), index.tuning, index.prior_weight, index.recency
    )


def cross_fitted_scorer(  # noqa: PLR0913 - the index and what it was built from
    index: RetrievalIndex,
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame | None,
    *,
    folds: int,
    seed: int,
) -> CrossFittedScorer:
    """A scorer whose training agendas come from indexes fit without their fold.

    Args:
        index: The saved, tuned retrieval index.
        expert_roster: The roster the index was built from.
        train_pairs: The training pairs the index was built from.
        clean_matches: Answers and project times, as the retrieval pipeline reads
            them (None when the index uses neither).
        folds: Number of folds (>= 2).
        seed: Seed of the fold assignment.

    Returns:
        The scorer; ``folds`` indexes are fit (BM25, MiniLM embeddings, prior).
    """
    if not index.is_tuned:
        raise ValueError(
            "Cross-fitting needs the tuned retrieval index (its fusion weights), "
            "the retrieval pipeline's retrieval_index."
        )
    fold_of = assign_folds(train_pairs["project_id"], folds, seed)
    in_fold = train_pairs["project_id"].map(lambda p: fold_of[as_id(p)])
    fold_indexes: dict[str, RetrievalIndex] = {}
    for fold in range(folds):
        heldout = {p for p, f in fold_of.items() if f == fold}
        documents = build_documents(
            expert_roster, train_pairs[in_fold != fold], clean_matches, index.settings
        )
        fitted = _fold_index(index, documents, heldout)
        fold_indexes.update(dict.fromkeys(heldout, fitted))
    logger.info(
        "Cross-fitted candidate lists: %d training projects in %d folds, each "
        "scored by an index fit without its fold.",
        len(fold_of),
        folds,
    )
    return CrossFittedScorer(index, fold_indexes)

"""Hybrid retrieval: fusion of lexical (BM25) and dense scores.

BM25 catches exact region/company/function words ("LATAM", "procurement"); the dense
model catches paraphrases. Two fusions are available:

* ``zscore``: per agenda, standardise each retriever's scores over the roster and take
  ``bm25_weight * z_bm25 + (1 - bm25_weight) * z_dense``;
* ``rrf``: weighted reciprocal-rank fusion, ``w / (rrf_k + rank_bm25) + (1 - w) /
  (rrf_k + rank_dense)``.

``tune_fusion_weight`` picks ``bm25_weight`` on the VALIDATION split only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.retrieval.base import Agenda, ScoringRetriever, top_k, zscore_rows

logger = logging.getLogger(__name__)

FUSIONS = ("zscore", "rrf")


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of each expert per row (ties broken by roster order)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return ranks


def fusion_form(scores: np.ndarray, fusion: str, rrf_k: int) -> np.ndarray:
    """One signal in the form the fusion adds up: row z-scores (``zscore``) or
    reciprocal ranks ``1 / (rrf_k + rank)`` (``rrf``), ``[n_agendas, n_experts]``."""
    if fusion == "rrf":
        return 1.0 / (rrf_k + _ranks(scores))
    return zscore_rows(scores)


def fuse_scores(
    bm25_scores: np.ndarray,
    dense_scores: np.ndarray,
    bm25_weight: float,
    *,
    fusion: str = "zscore",
    rrf_k: int = 60,
) -> np.ndarray:
    """Combine two ``[n_agendas, n_experts]`` score matrices into one.

    Args:
        bm25_scores: Lexical scores.
        dense_scores: Dense scores, same shape and expert order.
        bm25_weight: Weight of the lexical side, in [0, 1].
        fusion: ``"zscore"`` or ``"rrf"``.
        rrf_k: Rank offset of reciprocal-rank fusion.

    Returns:
        Fused scores, higher is better.

    Raises:
        ValueError: On a shape mismatch, unknown fusion or weight outside [0, 1].
    """
    if bm25_scores.shape != dense_scores.shape:
        raise ValueError(
            f"Cannot fuse score matrices of shapes {bm25_scores.shape} and "
            f"{dense_scores.shape}; both must be [n_agendas, n_experts]."
        )
    if not 0.0 <= bm25_weight <= 1.0:
        raise ValueError(f"bm25_weight must be in [0, 1], got {bm25_weight}.")
    if fusion == "zscore":
        return bm25_weight * zscore_rows(bm25_scores) + (
            1.0 - bm25_weight
        ) * zscore_rows(dense_scores)
    if fusion == "rrf":
        return bm25_weight / (rrf_k + _ranks(bm25_scores)) + (1.0 - bm25_weight) / (
            rrf_k + _ranks(dense_scores)
        )
    raise ValueError(f"Unknown fusion '{fusion}'; choose one of {FUSIONS}.")


class HybridRetriever:
    """Fusion of a BM25 and a dense retriever fit on the same expert documents.

    Args:
        bm25: Fitted lexical retriever.
        dense: Fitted dense retriever.
        bm25_weight: Weight of the lexical side, in [0, 1].
        fusion: ``"zscore"`` or ``"rrf"``.
        rrf_k: Rank offset of reciprocal-rank fusion.
        name: System name used in reports.
    """

    def __init__(
        self,
        bm25: ScoringRetriever,
        dense: ScoringRetriever,
        *,
        bm25_weight: float = 0.5,
        fusion: str = "zscore",
        rrf_k: int = 60,
        name: str = "hybrid",
    ) -> None:
        if not np.array_equal(bm25.expert_ids, dense.expert_ids):
            raise ValueError(
                "BM25 and dense retrievers must share the same roster order."
            )
        if fusion not in FUSIONS:
            raise ValueError(f"Unknown fusion '{fusion}'; choose one of {FUSIONS}.")
        self.name = name
        self.bm25, self.dense = bm25, dense
        self.bm25_weight, self.fusion, self.rrf_k = bm25_weight, fusion, rrf_k
        self.expert_ids = bm25.expert_ids
        self.documents = getattr(bm25, "documents", None)
        self.fit_seconds = getattr(bm25, "fit_seconds", 0.0) + getattr(
            dense, "fit_seconds", 0.0
        )

    def score_all(self, agendas: Sequence[Agenda]) -> np.ndarray:
        """Fused score of every roster expert for each agenda."""
        return fuse_scores(
            self.bm25.score_all(agendas),
            self.dense.score_all(agendas),
            self.bm25_weight,
            fusion=self.fusion,
            rrf_k=self.rrf_k,
        )

    def candidates(self, agendas: Sequence[Agenda], k: int) -> pd.DataFrame:
        """Hybrid top-``k`` roster experts per agenda (rerank input, hard negatives).

        Args:
            agendas: Agendas, each a list of questions.
            k: Candidates per agenda.

        Returns:
            Long table ``agenda_index, rank, expert_id, score`` with exactly ``k``
            distinct roster experts per agenda, best first.
        """
        ids, scores = top_k(self.score_all(agendas), self.expert_ids, k)
        return pd.DataFrame(
            {
                "agenda_index": np.repeat(np.arange(len(agendas)), k),
                "rank": np.tile(np.arange(1, k + 1), len(agendas)),
                "expert_id": ids.ravel(),
                "score": scores.ravel(),
            }
        )


def tune_fusion_weight(
    bm25_scores: np.ndarray,
    dense_scores: np.ndarray,
    expert_ids: Sequence[int] | np.ndarray,
    acceptable_sets: Sequence[Iterable[int]],
    weight_grid: Sequence[float],
    *,
    fusion: str = "zscore",
    rrf_k: int = 60,
    metric: str = "mrr",
) -> tuple[float, pd.DataFrame]:
    """Grid-search the BM25 weight of the fusion on held-out (validation) projects.

    Args:
        bm25_scores: Validation BM25 scores ``[n_projects, n_experts]``.
        dense_scores: Validation dense scores, same shape.
        expert_ids: Roster ids aligned with the score columns.
        acceptable_sets: Acceptable expert ids per validation project.
        weight_grid: Candidate BM25 weights in [0, 1].
        fusion: ``"zscore"`` or ``"rrf"``.
        rrf_k: Rank offset of reciprocal-rank fusion.
        metric: Metric to maximise (``evaluation.tuning.tune_weight``; ties go to
            the weight closest to 0.5).

    Returns:
        ``(best_weight, table)`` where ``table`` has one row per weight and one
        column per metric.

    Raises:
        ValueError: On an empty grid, a weight outside [0, 1] or an unknown metric.
    """
    n_experts = len(expert_ids)

    def rank_at(weight: float) -> list[list[int]]:
        fused = fuse_scores(
            bm25_scores, dense_scores, weight, fusion=fusion, rrf_k=rrf_k
        )
        return top_k(fused, expert_ids, n_experts)[0].tolist()

    return tune_weight(
        rank_at, acceptable_sets, weight_grid, metric=metric, name="bm25_weight"
    )

"""The rerank fusion: retriever and LLM scores of ``K`` candidates into one ranking.

Both scores are standardised over the candidates (``retrieval.base.zscore_rows``, the
hybrid retriever's standardisation) and mixed, ``w * z(retrieval) + (1 - w) * z(llm)``;
the experts the LLM did not score follow in the retriever's order, so every roster
expert gets a rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id
from expert_kedro.retrieval.base import zscore_rows


def fuse(
    retrieval_scores: np.ndarray, llm_scores: np.ndarray, retrieval_weight: float
) -> np.ndarray:
    """Fused candidate scores: ``w * z(retrieval) + (1 - w) * z(llm)``.

    Args:
        retrieval_scores: Retriever scores of the ``K`` candidates.
        llm_scores: LLM scores of the same candidates.
        retrieval_weight: ``w`` in [0, 1] (0: LLM only, 1: retriever only).

    Raises:
        ValueError: If ``w`` is outside [0, 1].
    """
    if not 0.0 <= retrieval_weight <= 1.0:
        raise ValueError(
            f"recommender.retrieval_weight must be in [0, 1], got {retrieval_weight}."
        )
    # One row of K candidates: the hybrid's per-agenda standardisation.
    z_retrieval = zscore_rows(np.asarray(retrieval_scores, dtype=float)[None, :])[0]
    z_llm = zscore_rows(np.asarray(llm_scores, dtype=float)[None, :])[0]
    return retrieval_weight * z_retrieval + (1.0 - retrieval_weight) * z_llm


def order_with_tail(
    candidate_ids: Sequence[str],
    fused: np.ndarray,
    tail_ids: Sequence[str],
) -> tuple[list[str], list[float]]:
    """Reranked candidates, then the retriever's remaining order.

    Tail experts get scores strictly below every candidate's, decreasing by 1.
    """
    order = np.argsort(-np.asarray(fused, dtype=float), kind="stable")
    ids = [as_id(candidate_ids[i]) for i in order]
    scores = [float(fused[i]) for i in order]
    floor = min(scores) if scores else 0.0
    ids += [as_id(e) for e in tail_ids]
    scores += [floor - 1.0 - i for i in range(len(tail_ids))]
    return ids, scores


@dataclass(frozen=True)
class ScoredCandidates:
    """One agenda's ``K`` candidates, scored once, rankable at any fusion weight.

    Attributes:
        expert_ids: The candidates, in retrieval order.
        retrieval_scores: The retriever's score of each candidate.
        llm_scores: The LLM's ``logit(yes) - logit(no)`` of each candidate.
        tail: The other roster experts, in retrieval order.
        fallback: The LLM could not score this agenda (a prompt did not fit even
            after the length policy): ``llm_scores`` are zeros, so the candidates
            keep the retriever's order at every fusion weight.
    """

    expert_ids: list[str]
    retrieval_scores: np.ndarray
    llm_scores: np.ndarray
    tail: list[str]
    fallback: bool = False

    def rank(self, retrieval_weight: float) -> tuple[list[str], list[float]]:
        """The whole roster: fused candidates first, then the tail (scores fall)."""
        fused = fuse(self.retrieval_scores, self.llm_scores, retrieval_weight)
        return order_with_tail(self.expert_ids, fused, self.tail)

    def table(self) -> pd.DataFrame:
        """``expert_id``, ``retrieval_score``, ``llm_score`` (retrieval order)."""
        return pd.DataFrame(
            {
                "expert_id": self.expert_ids,
                "retrieval_score": self.retrieval_scores,
                "llm_score": self.llm_scores,
            }
        )

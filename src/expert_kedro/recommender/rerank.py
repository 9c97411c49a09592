"""Rerank design: the retriever proposes ``K`` roster experts, the LLM judges each.

For one agenda:

1. the hybrid retriever (fit on the training split) scores the whole roster and
   keeps its top ``K`` candidates;
2. the fine-tuned LLM scores each candidate pointwise: the prompt is the agenda and
   the candidate's profile, the score is ``logit(yes) - logit(no)`` on the first
   answer token (the agenda prefix is computed once for all ``K``);
3. both scores are standardised over the ``K`` candidates and fused,
   ``w * z(retrieval) + (1 - w) * z(llm)``, with ``w`` tuned on the validation
   split (:func:`tune_retrieval_weight`).

Candidates come from the roster and profiles from the roster, so the ranking is
grounded by construction. Experts past ``K`` keep the retriever's order below the
reranked ones, so a full roster ranking is available for MRR.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.evaluation.metrics import METRIC_NAMES, per_project_metrics
from expert_kedro.identifiers import as_id
from expert_kedro.recommender.grounding import Roster
from expert_kedro.retrieval.base import ScoringRetriever, top_k
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.regions import region_lines
from expert_kedro.training_data.rerank_pairs import ExpertHistory, format_rerank_input

logger = logging.getLogger(__name__)


def _zscore(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


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
    return retrieval_weight * _zscore(retrieval_scores) + (
        1.0 - retrieval_weight
    ) * _zscore(llm_scores)


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


class RerankRanker:
    """Retrieve ``K`` candidates, score each with the LLM, fuse, rank.

    The fusion and prompt-layout arguments have no defaults: their values are the
    ``recommender`` settings (``service.build_ranker`` passes them), and the layout
    must be the one the adapter was trained on.

    Args:
        scorer: The loaded (fine-tuned) model.
        roster: The roster.
        retriever: A fitted ``ScoringRetriever`` (hybrid) over the same roster.
        system: System prompt of the rerank pairs.
        candidates: ``K``, candidates scored by the LLM per agenda.
        retrieval_weight: Fusion weight ``w`` (tuned on validation).
        history: Past training questions per expert (when prompts show them).
        history_questions: Past questions shown per candidate (as in training).
        candidate_region: Show each candidate's ``Region:`` line (as in training).
        agenda_region: Show the ``Agenda region:`` line (as in training).
        name: System name in reports.
    """

    def __init__(
        self,
        scorer: LLMScorer,
        roster: Roster,
        retriever: ScoringRetriever,
        system: str,
        *,
        candidates: int,
        retrieval_weight: float,
        history: ExpertHistory | None,
        history_questions: int,
        candidate_region: bool,
        agenda_region: bool | str,
        name: str = "llm_rerank",
    ) -> None:
        if [as_id(e) for e in retriever.expert_ids] != list(roster.expert_ids):
            raise ValueError("The retriever and the roster list different experts.")
        if not 1 <= candidates <= len(roster):
            raise ValueError(
                f"recommender.candidates must be in [1, {len(roster)}], "
                f"got {candidates}."
            )
        self.scorer, self.roster, self.retriever = scorer, roster, retriever
        self.system, self.candidates, self.name = system, candidates, name
        self.retrieval_weight = retrieval_weight
        self.history, self.history_questions = history, history_questions
        # Switched off, as in the training pairs, when no expert has a region.
        self.candidate_region, self.agenda_region = region_lines(
            roster.frame["expert_location"],
            candidate_region,
            agenda_region,
            "RerankRanker",
        )
        self.expert_ids = roster.expert_ids

    def candidate_input(self, agenda: Sequence[str], expert_id: str) -> str:
        """User turn of one candidate's prompt, laid out as in the training pairs."""
        return format_rerank_input(
            agenda,
            self.roster.profile(expert_id),
            self.history.questions(expert_id, agenda, self.history_questions)
            if self.history is not None
            else (),
            region=self.candidate_region,
            agenda_region=self.agenda_region,
        )

    def candidate_table(
        self, agenda: Sequence[str], case: Any = None
    ) -> tuple[pd.DataFrame, list[str]]:
        """Retrieval and LLM scores of the ``K`` candidates, and the remaining order.

        Returns:
            ``(table, tail)``: ``table`` has ``expert_id``, ``retrieval_score``,
            ``llm_score`` (retrieval order); ``tail`` lists the other roster experts
            in retrieval order.
        """
        return self.candidate_tables([agenda], [case])[0]

    def candidate_tables(
        self, agendas: Sequence[Sequence[str]], cases: Sequence[Any]
    ) -> list[tuple[pd.DataFrame, list[str]]]:
        """:meth:`candidate_table` for several agendas, scored in shared batches."""
        return [
            (
                pd.DataFrame(
                    {
                        "expert_id": chosen,
                        "retrieval_score": retrieval,
                        "llm_score": llm,
                    }
                ),
                tail,
            )
            for chosen, retrieval, llm, tail in self._score_candidates(agendas, cases)
        ]

    def _score_candidates(
        self, agendas: Sequence[Sequence[str]], cases: Sequence[Any]
    ) -> list[tuple[list[str], np.ndarray, np.ndarray, list[str]]]:
        """Per agenda: candidate ids, their retrieval and LLM scores, the tail.

        The columns of :meth:`candidate_tables` without a DataFrame per agenda,
        which ranking reads straight back out (64 of them per batched call).
        """
        agendas = [list(agenda) for agenda in agendas]
        scores = self.retriever.score_all(agendas)
        ids, ranked_scores = top_k(scores, self.expert_ids, len(self.expert_ids))
        ranked = [[as_id(e) for e in row] for row in ids]
        chosen = [row[: self.candidates] for row in ranked]
        groups = [
            [self.candidate_input(agenda, e) for e in experts]
            for agenda, experts in zip(agendas, chosen, strict=True)
        ]
        llm = self.scorer.yes_no_scores_grouped(self.system, groups, cases)
        return [
            (
                chosen[i],
                ranked_scores[i][: self.candidates],
                llm[i],
                ranked[i][self.candidates :],
            )
            for i in range(len(agendas))
        ]

    def rank_with_scores(
        self, agenda: Sequence[str], k: int, case: Any = None
    ) -> tuple[list[str], list[float]]:
        """Top ``k`` roster experts and their fused scores for one agenda."""
        return self.rank_many_with_scores([agenda], k, [case])[0]

    def rank_many_with_scores(
        self, agendas: Sequence[Sequence[str]], k: int, cases: Sequence[Any]
    ) -> list[tuple[list[str], list[float]]]:
        """:meth:`rank_with_scores` for several agendas in shared forward passes."""
        out = []
        for chosen, retrieval, llm, tail in self._score_candidates(agendas, cases):
            fused = fuse(retrieval, llm, self.retrieval_weight)
            ids, scores = order_with_tail(chosen, fused, tail)
            out.append((ids[:k], scores[:k]))
        return out

    def rank(self, agendas: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        """``Recommender`` protocol: ``k`` distinct roster experts per agenda."""
        return [self.rank_with_scores(agenda, k)[0] for agenda in agendas]


def tune_retrieval_weight(
    tables: Sequence[pd.DataFrame],
    tails: Sequence[Sequence[str]],
    acceptable_sets: Sequence[Sequence[str]],
    grid: Sequence[float],
    *,
    metric: str = "mrr",
) -> tuple[float, pd.DataFrame]:
    """Choose the fusion weight on validation candidate tables.

    Args:
        tables: Per project, :meth:`RerankRanker.candidate_table`'s table.
        tails: Per project, the experts past ``K`` (retrieval order).
        acceptable_sets: Per project, the acceptable experts.
        grid: Weights to try, in [0, 1].
        metric: Metric maximised (one of ``METRIC_NAMES``); ties go to the weight
            closest to 0.5.

    Returns:
        ``(best_weight, table)`` with one row per weight and one column per metric.

    Raises:
        ValueError: For an empty grid or an unknown metric.
    """
    if not grid:
        raise ValueError("recommender.weight_grid is empty.")
    if metric not in METRIC_NAMES:
        raise ValueError(
            f"Unknown tuning metric {metric!r}; use one of {METRIC_NAMES}."
        )
    rows = []
    for weight in grid:
        rankings = [
            order_with_tail(
                t["expert_id"].tolist(),
                fuse(
                    t["retrieval_score"].to_numpy(), t["llm_score"].to_numpy(), weight
                ),
                tail,
            )[0]
            for t, tail in zip(tables, tails, strict=True)
        ]
        means = per_project_metrics(rankings, acceptable_sets).mean()
        rows.append({"retrieval_weight": float(weight), **means.to_dict()})
    table = pd.DataFrame(rows)
    best = table.assign(_gap=(table["retrieval_weight"] - 0.5).abs()).sort_values(
        [metric, "_gap"], ascending=[False, True]
    )
    weight = float(best["retrieval_weight"].iloc[0])
    logger.info(
        "Rerank fusion tuned on %d projects: retrieval_weight=%.2f (%s=%.3f).",
        len(tables),
        weight,
        metric,
        float(best[metric].iloc[0]),
    )
    return weight, table

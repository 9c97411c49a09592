"""Rerank design: the retriever proposes ``K`` roster experts, the LLM judges each.

For one agenda:

1. the hybrid retriever (fit on the training split) scores the whole roster and
   keeps its top ``K`` candidates;
2. the fine-tuned LLM scores each candidate pointwise: the prompt is the agenda and
   the candidate's profile, the score is ``logit(yes) - logit(no)`` on the first
   answer token (the agenda prefix is computed once for all ``K``);
3. both scores are standardised over the ``K`` candidates and fused,
   ``w * z(retrieval) + (1 - w) * z(llm)``, with ``w`` tuned on the validation
   split (:meth:`RerankRanker.tune_weight`).

Candidates come from the roster and profiles from the roster, so the ranking is
grounded by construction. Prompts longer than ``recommender.max_prompt_tokens`` are
fitted by the training length policy inside the scorer; an agenda that cannot fit
at all keeps the retriever's order (``ScoredCandidates.fallback``, counted).
Experts past ``K`` keep the retriever's order below the reranked ones, so a full
roster ranking is available for MRR.

Scoring (retriever + LLM) and ranking (fusion at a weight) are separate steps, so the
evaluation scores the held-out projects once, tunes ``w`` on the scores and ranks at
the tuned weight through the same code as inference::

    scored = ranker.score_candidates(agendas, cases, agenda_batch=8)
    weight, grid = ranker.tune_weight(scored, acceptable_sets, [0.0, 0.5, 1.0])
    rankings = ranker.with_weight(weight).rank_scored(scored)  # whole roster
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.identifiers import as_id
from expert_kedro.recommender.candidate_prompts import CandidatePrompts
from expert_kedro.recommender.fusion import ScoredCandidates
from expert_kedro.recommender.grounding import Roster
from expert_kedro.retrieval.base import ScoringRetriever, top_k
from expert_kedro.scoring.progress import agenda_progress
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.activity import CandidateActivity
from expert_kedro.training_data.regions import region_lines
from expert_kedro.training_data.rerank_pairs import ExpertHistory

logger = logging.getLogger(__name__)


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
        candidates: ``K``, candidates scored by the LLM per agenda (at most the
            roster: a larger ``K`` scores every roster expert, logged).
        retrieval_weight: Fusion weight ``w`` (tuned on validation).
        history: Past training questions per expert (when prompts show them).
        history_questions: Past questions shown per candidate (as in training).
        candidate_region: Show each candidate's ``Region:`` line (as in training).
        agenda_region: Show the ``Agenda region:`` line (as in training).
        activity: Counts each candidate's ``Activity:`` line as of the agenda's
            time (as in training); None: no line.
        name: System name in reports.
        progress: Show a progress bar when a call scores its agendas in several
            batches (``recommender.progress_bar``).
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
        activity: CandidateActivity | None = None,
        name: str = "llm_rerank",
        progress: bool = False,
    ) -> None:
        if [as_id(e) for e in retriever.expert_ids] != list(roster.expert_ids):
            raise ValueError("The retriever and the roster list different experts.")
        if candidates < 1:
            raise ValueError(f"recommender.candidates must be >= 1, got {candidates}.")
        if candidates > len(roster):
            logger.warning(
                "recommender.candidates=%d exceeds the roster (%d experts): every "
                "roster expert is a candidate.",
                candidates,
                len(roster),
            )
            candidates = len(roster)
        self.scorer, self.roster, self.retriever = scorer, roster, retriever
        self.system, self.candidates, self.name = system, candidates, name
        self.progress = progress
        self.retrieval_weight = retrieval_weight
        # Switched off, as in the training pairs, when no expert has a region.
        regions = region_lines(
            roster.frame["expert_location"],
            candidate_region,
            agenda_region,
            "RerankRanker",
        )
        self.candidate_region, self.agenda_region = regions
        self.prompts = CandidatePrompts(
            roster, history, history_questions, *regions, activity
        )
        self.expert_ids = roster.expert_ids

    def candidate_input(
        self, agenda: Sequence[str], expert_id: str, activity: str | None = None
    ) -> str:
        """User turn of one candidate's prompt, laid out as in the training pairs."""
        return self.prompts.user_turn(agenda, expert_id, activity)

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
            (scored.table(), scored.tail)
            for scored in self.score_candidates(agendas, cases)
        ]

    def score_candidates(
        self,
        agendas: Sequence[Sequence[str]],
        cases: Sequence[Any],
        *,
        times: np.ndarray | None = None,
        agenda_batch: int | None = None,
    ) -> list[ScoredCandidates]:
        """Retrieve and LLM-score each agenda's ``K`` candidates (no fusion yet).

        Args:
            agendas: Agendas, each a list of questions.
            cases: Case ids (named in errors), one per agenda.
            times: When each agenda was asked, for a retriever with recent
                activity (``recency.retriever_times``); None: now (inference).
            agenda_batch: Agendas whose candidates share forward passes (None: all).

        Returns:
            One :class:`ScoredCandidates` per agenda, in order.
        """
        agendas = [list(agenda) for agenda in agendas]
        step = agenda_batch or max(len(agendas), 1)
        scored: list[ScoredCandidates] = []
        # One batch needs no bar (the inference loop shows its own).
        several = self.progress and len(agendas) > step
        with agenda_progress(len(agendas), self.name, enabled=several) as bar:
            for start in range(0, len(agendas), step):
                scored += self._score_batch(
                    agendas[start : start + step],
                    cases[start : start + step],
                    None if times is None else times[start : start + step],
                )
                bar.update(len(agendas[start : start + step]))
        return scored

    def _score_batch(
        self,
        agendas: list[list[str]],
        cases: Sequence[Any],
        times: np.ndarray | None,
    ) -> list[ScoredCandidates]:
        scores = (
            self.retriever.score_all(agendas)
            if times is None
            else self.retriever.score_all(agendas, times)
        )
        ids, ranked_scores = top_k(scores, self.expert_ids, len(self.expert_ids))
        ranked = [[as_id(e) for e in row] for row in ids]
        chosen = [row[: self.candidates] for row in ranked]
        groups = self.prompts.user_turns(agendas, chosen, times)
        llm = self.scorer.yes_no_scores_grouped(self.system, groups, cases)
        unfit = [bool(np.isnan(scores).any()) for scores in llm]
        for case, fallback in zip(cases, unfit, strict=True):
            if fallback:
                self.scorer.fitting.fallback(case)
        return [
            ScoredCandidates(
                expert_ids=chosen[i],
                retrieval_scores=np.asarray(ranked_scores[i][: self.candidates]),
                # Zero spread: the retriever alone orders an unscored agenda.
                llm_scores=np.zeros(len(chosen[i])) if unfit[i] else llm[i],
                tail=ranked[i][self.candidates :],
                fallback=unfit[i],
            )
            for i in range(len(agendas))
        ]

    def rank_scored(
        self, scored: Sequence[ScoredCandidates], k: int | None = None
    ) -> list[tuple[list[str], list[float]]]:
        """Rank scored candidates at this ranker's fusion weight.

        Args:
            scored: From :meth:`score_candidates`.
            k: Experts kept per agenda; None keeps the whole roster (exact MRR).

        Returns:
            Per agenda, expert ids and fused scores, best first.
        """
        ranked = [item.rank(self.retrieval_weight) for item in scored]
        return ranked if k is None else [(ids[:k], s[:k]) for ids, s in ranked]

    def with_weight(self, retrieval_weight: float) -> RerankRanker:
        """A copy fusing at ``retrieval_weight`` (model, roster and retriever shared).

        Raises:
            ValueError: If the weight is outside [0, 1].
        """
        if not 0.0 <= retrieval_weight <= 1.0:
            raise ValueError(
                f"retrieval_weight must be in [0, 1], got {retrieval_weight}."
            )
        other = copy.copy(self)
        other.retrieval_weight = float(retrieval_weight)
        return other

    def tune_weight(
        self,
        scored: Sequence[ScoredCandidates],
        acceptable_sets: Sequence[Iterable[int]],
        grid: Sequence[float],
        *,
        metric: str = "mrr",
    ) -> tuple[float, pd.DataFrame]:
        """The fusion weight of ``grid`` that ranks held-out projects best.

        Args:
            scored: :meth:`score_candidates` of the held-out (validation) projects.
            acceptable_sets: Their acceptable experts, in the same order.
            grid: Weights to try, in [0, 1].
            metric: Metric maximised (see ``evaluation.tuning.tune_weight``).

        Returns:
            ``(best_weight, table)``, one table row per weight (``retrieval_weight``
            and the metrics).
        """

        def rank_at(weight: float) -> list[list[str]]:
            return [ids for ids, _ in self.with_weight(weight).rank_scored(scored)]

        return tune_weight(
            rank_at, acceptable_sets, grid, metric=metric, name="retrieval_weight"
        )

    def rank_with_scores(
        self, agenda: Sequence[str], k: int, case: Any = None
    ) -> tuple[list[str], list[float]]:
        """Top ``k`` roster experts and their fused scores for one agenda."""
        return self.rank_many_with_scores([agenda], k, [case])[0]

    def rank_many_with_scores(
        self,
        agendas: Sequence[Sequence[str]],
        k: int,
        cases: Sequence[Any],
        *,
        times: np.ndarray | None = None,
    ) -> list[tuple[list[str], list[float]]]:
        """:meth:`rank_with_scores` for several agendas in shared forward passes
        (``times``: as in :meth:`score_candidates`)."""
        return self.rank_scored(self.score_candidates(agendas, cases, times=times), k)

    def rank(self, agendas: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        """``Recommender`` protocol: ``k`` distinct roster experts per agenda."""
        return [self.rank_with_scores(agenda, k)[0] for agenda in agendas]

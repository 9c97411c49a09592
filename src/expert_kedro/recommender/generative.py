"""Generative design: agenda in, expert profile out (the seed's design), grounded.

The model was trained to answer an agenda with ``Expert: <name> (ID <id>)`` followed
by the profile (or a rationale). Grounded ranking never lets it write freely: every
roster expert's first line is scored by its log-probability after the agenda prompt
(the prompt is computed once, the ``Expert:`` tokens too), and the top ``k`` roster
experts are returned.

:func:`free_generation_diagnostic` keeps the seed's unconstrained behaviour
available for diagnosis: generate, read the first line back to the roster (ID, then
fuzzy name) and count hallucinated experts. Its output is never a recommendation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from expert_kedro.identifiers import as_id
from expert_kedro.recommender.grounding import (
    Roster,
    RosterMatch,
    hallucination_summary,
)
from expert_kedro.retrieval.base import top_k
from expert_kedro.scoring.progress import agenda_progress
from expert_kedro.scoring.prompt_ids import AgendaTooLongError
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.formatting import format_agenda, format_expert_line

logger = logging.getLogger(__name__)


class GenerativeRanker:
    """Ranks the whole roster by ``log p(first line of the expert | agenda)``.

    Args:
        scorer: The loaded model.
        roster: The roster (the only experts that can be returned).
        system: System prompt of the generative pairs (``pairs.system_prompts``).
        name: System name in reports.
        progress: Show a progress bar when several agendas are ranked in one call
            (``recommender.progress_bar``).
    """

    def __init__(
        self,
        scorer: LLMScorer,
        roster: Roster,
        system: str,
        *,
        name: str = "llm_generative",
        progress: bool = False,
    ) -> None:
        self.scorer, self.roster, self.system, self.name = scorer, roster, system, name
        self.progress = progress
        self.expert_ids = roster.expert_ids
        # The newline closes the line, so "(ID 12)" cannot score as a prefix of
        # "(ID 123)".
        self._continuations = [
            scorer.tokenize_continuation(
                format_expert_line(roster.profile(e)["expert_name"], e) + "\n"
            )
            for e in self.expert_ids
        ]

    def score_all(
        self, agendas: Sequence[Sequence[str]], cases: Sequence[Any] | None = None
    ) -> np.ndarray:
        """Log-probability of every roster expert per agenda, ``[n, n_experts]``.

        Agendas are fitted to ``max_prompt_tokens`` by the length policy; one whose
        prompt cannot fit at all gets zeros (the roster's order), counted as a
        fallback in ``scorer.fitting``.
        """
        cases = list(cases) if cases is not None else [None] * len(agendas)
        return np.vstack(
            [
                self._scores(agenda, case)
                for agenda, case in zip(agendas, cases, strict=True)
            ]
        )

    def _scores(self, agenda: Sequence[str], case: Any) -> np.ndarray:
        try:
            return self.scorer.continuation_scores(
                self.system, format_agenda(agenda), self._continuations, case=case
            )
        except AgendaTooLongError:
            self.scorer.fitting.fallback(case)
            return np.zeros(len(self._continuations))

    def rank_with_scores(
        self, agenda: Sequence[str], k: int, case: Any = None
    ) -> tuple[list[str], list[float]]:
        """Top ``k`` roster experts and their log-probabilities for one agenda."""
        ids, scores = top_k(self.score_all([agenda], [case]), self.expert_ids, k)
        return [as_id(i) for i in ids[0]], [float(s) for s in scores[0]]

    def rank_many_with_scores(
        self,
        agendas: Sequence[Sequence[str]],
        k: int,
        cases: Sequence[Any],
        *,
        times: Any = None,  # noqa: ARG002 - no candidate stage to date
    ) -> list[tuple[list[str], list[float]]]:
        """:meth:`rank_with_scores` per agenda (each already fills its batches with
        the whole roster; ``times`` is unused: the generative mode has no
        recent-activity term)."""
        several = self.progress and len(agendas) > 1
        ranked = []
        with agenda_progress(len(agendas), self.name, enabled=several) as bar:
            for agenda, case in zip(agendas, cases, strict=True):
                ranked.append(self.rank_with_scores(agenda, k, case))
                bar.update()
        return ranked

    def rank(self, agendas: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        """``Recommender`` protocol: ``k`` distinct roster experts per agenda."""
        return [self.rank_with_scores(agenda, k)[0] for agenda in agendas]


def free_generation_diagnostic(
    scorer: LLMScorer,
    roster: Roster,
    system: str,
    agendas: Sequence[Sequence[str]],
    *,
    max_new_tokens: int = 32,
) -> tuple[list[RosterMatch], dict[str, Any]]:
    """Seed-style unconstrained generation, matched back to the roster.

    Args:
        scorer: The loaded model.
        roster: The roster.
        system: Generative system prompt.
        agendas: Agendas to answer.
        max_new_tokens: Tokens generated (the first line needs ~20).

    Returns:
        ``(matches, summary)``: one :class:`RosterMatch` per agenda that fits the
        prompt budget and the counts of
        :func:`~expert_kedro.recommender.grounding.hallucination_summary`, plus
        ``not_generated``: agendas whose prompt cannot fit even after the length
        policy.
    """
    matches = []
    for agenda in agendas:
        try:
            text = scorer.generate(
                system, format_agenda(agenda), max_new_tokens=max_new_tokens
            )
        except AgendaTooLongError:
            continue
        matches.append(roster.match_generation(text))
    summary = {
        **hallucination_summary(matches),
        "not_generated": len(agendas) - len(matches),
    }
    logger.info(
        "Free generation on %d agendas: %d matched by ID, %d by name, "
        "%d hallucinated experts.",
        summary["n"],
        summary["matched_by_id"],
        summary["matched_by_name"],
        summary["hallucinated"],
    )
    return matches, summary

"""The user turns a rerank ranker scores: each candidate laid out as in training.

The layout (past questions, region lines, the ``Activity:`` line) is the one the
adapter was trained on (:func:`~expert_kedro.recommender.adapters.
check_adapter_layout`); the text comes from the same
:func:`~expert_kedro.training_data.rerank_prompt.format_rerank_input` that wrote the
training pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from expert_kedro.recommender.grounding import Roster
from expert_kedro.training_data.activity import CandidateActivity
from expert_kedro.training_data.expert_history import ExpertHistory
from expert_kedro.training_data.rerank_prompt import format_rerank_input


@dataclass(frozen=True)
class CandidatePrompts:
    """Writes the candidates' user turns of a rerank ranker.

    Attributes:
        roster: The roster (profiles).
        history: Past training questions per expert, or None.
        history_questions: Past questions shown per candidate.
        candidate_region: Show each candidate's ``Region:`` line.
        agenda_region: Show the ``Agenda region:`` line.
        activity: Counts each candidate's ``Activity:`` line, or None.
    """

    roster: Roster
    history: ExpertHistory | None
    history_questions: int
    candidate_region: bool
    agenda_region: bool | str
    activity: CandidateActivity | None = None

    def user_turn(
        self, agenda: Sequence[str], expert_id: str, activity: str | None = None
    ) -> str:
        """One candidate's user turn (``activity``: its line for this agenda)."""
        return format_rerank_input(
            agenda,
            self.roster.profile(expert_id),
            self.history.questions(expert_id, agenda, self.history_questions)
            if self.history is not None
            else (),
            region=self.candidate_region,
            agenda_region=self.agenda_region,
            activity=activity,
        )

    def user_turns(
        self,
        agendas: Sequence[Sequence[str]],
        candidates: Sequence[Sequence[str]],
        times: np.ndarray | None,
    ) -> list[list[str]]:
        """Every candidate's user turn, per agenda (``times``: when each agenda was
        asked, for the ``Activity:`` line; None: now)."""
        lines = (
            [[None] * len(row) for row in candidates]
            if self.activity is None
            else self.activity.lines(times, candidates)
        )
        return [
            [self.user_turn(agenda, e, x) for e, x in zip(row, acts, strict=True)]
            for agenda, row, acts in zip(agendas, candidates, lines, strict=True)
        ]

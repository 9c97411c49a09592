"""The candidate's ``Activity:`` line: how often an expert was booked before an agenda.

On question-and-answer data the strongest single signal of who answers next is who
answered just before (:mod:`expert_kedro.retrieval.recency`), and the candidate
stage fuses it. A reranker that reads only the agenda and the profile cannot weigh a
topical fit against whether the candidate is still around; with
``recommender.candidate_activity`` set to a window ``W`` each candidate block says::

    Activity: 3 of the last 50 projects before this one, 41 in all

counted on the retrieval index's timeline (training bookings only), strictly before
the agenda's time, so a training project never counts itself and no held-out booking
is ever counted. An agenda without a time (a new one at inference) is counted as of
now; ``new_agendas.as_of`` moves it, as it moves the candidate stage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from expert_kedro.identifiers import as_id
from expert_kedro.retrieval.timeline import Timeline

logger = logging.getLogger(__name__)

ACTIVITY_LABEL = "Activity"


def activity_line(recent: int, total: int, window: int) -> str:
    """The ``Activity:`` line of one candidate for one agenda."""
    return (
        f"{ACTIVITY_LABEL}: {recent} of the last {window} projects before this one, "
        f"{total} in all"
    )


@dataclass(frozen=True)
class ActivityCounts:
    """Bookings of every roster expert before each of ``n`` agendas.

    Attributes:
        recent: ``[n, experts]`` bookings among the last ``window`` projects.
        total: ``[n, experts]`` bookings among all earlier training projects.
        position: Expert id -> column.
        window: The recent window.
    """

    recent: np.ndarray
    total: np.ndarray
    position: Mapping[str, int]
    window: int

    def line(self, row: int, expert_id: Any) -> str:
        """The line of ``expert_id`` for the ``row``-th agenda."""
        column = self.position[as_id(expert_id)]
        return activity_line(
            int(self.recent[row, column]), int(self.total[row, column]), self.window
        )


@dataclass(frozen=True)
class CandidateActivity:
    """Counts the ``Activity:`` lines from the retrieval index's timeline.

    Attributes:
        timeline: Training bookings in time order (columns: ``expert_ids``).
        expert_ids: Roster ids in the index's order.
        window: Training projects of the recent count.
    """

    timeline: Timeline
    expert_ids: tuple[str, ...]
    window: int

    @cached_property
    def position(self) -> dict[str, int]:
        """Expert id -> column of the counts (built once per index)."""
        return {e: i for i, e in enumerate(self.expert_ids)}

    def counts(self, times: np.ndarray | None, n: int) -> ActivityCounts:
        """Counts before each of ``n`` agendas (``times``: one each, NaN or None:
        now, after every training project)."""
        return ActivityCounts(
            recent=self.timeline.counts(times, self.window, n),
            total=self.timeline.counts(times, max(len(self.timeline), 1), n),
            position=self.position,
            window=self.window,
        )

    def lines(
        self, times: np.ndarray | None, candidates: Sequence[Sequence[Any]]
    ) -> list[list[str]]:
        """The line of each candidate of each agenda (``candidates``: per agenda)."""
        counts = self.counts(times, len(candidates))
        return [
            [counts.line(row, e) for e in experts]
            for row, experts in enumerate(candidates)
        ]


def candidate_activity(
    retriever: Any, window: int, where: str
) -> CandidateActivity | None:
    """The activity lines ``recommender.candidate_activity`` asks for, if the data
    allows them.

    Args:
        retriever: The retrieval index (its ``timeline``, when it has one).
        window: ``recommender.candidate_activity`` (0: no line).
        where: Who is asking (names the run step in the log).

    Returns:
        None when the window is 0, or, with one warning, when the index has no
        timeline (``retrieval.recency.time_from`` null, or no training project with
        a time): the line is then switched off for this data, as the region lines
        are for a roster without locations.
    """
    if not window:
        return None
    timeline = getattr(retriever, "timeline", None)
    if timeline is None:
        logger.warning(
            "%s: recommender.candidate_activity=%d, but the retrieval index has no "
            "timeline (retrieval.recency.time_from is null, or no training project "
            "has a usable time), so the Activity line is switched off for this data.",
            where,
            window,
        )
        return None
    ids = tuple(as_id(e) for e in retriever.expert_ids)
    return CandidateActivity(timeline, ids, int(window))

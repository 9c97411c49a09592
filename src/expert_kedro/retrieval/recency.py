"""Recent activity: who answered the projects asked just before an agenda.

On question-and-answer data the people answering now are mostly those who answered
the last few questions: activity comes in bursts, and the whole-period booking
counts of the activity prior (:mod:`.prior`) mix today's regulars with people who
left long ago. The recency signal counts, for every roster expert, their bookings
among the last ``window`` TRAINING projects asked *before* the agenda (strictly
earlier, so a project never counts itself), and is fused after the prior in the
fusion's own form (``zscore``: ``z(count)``, ``rrf``: ``1 / (rrf_k + rank)``)::

    score = (1 - w_r) * [(1 - w_p) * hybrid + w_p * prior] + w_r * recent

When each project was asked comes from ``retrieval.recency.time_from``:
``created_at`` (the export's date column) or ``project_id`` (ids that grow with
time, as question ids on Stack Exchange do). An agenda without a known time, e.g. a
new one at inference, is scored as asked now: after every training project. The
window and the weight are tuned on VALIDATION after the prior (ties go to weight 0:
the signal is only added where it helps), and ``recent_activity`` alone is reported
as a baseline::

    # timeline: the training bookings in time order (:mod:`.timeline`)
    term = RecencyFusion(timeline, window=50, weight=0.3)
    term.add(stage_scores, timeline.times_for(projects), "zscore", 60)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.retrieval.base import Agenda, top_k
from expert_kedro.retrieval.hybrid import fusion_form
from expert_kedro.retrieval.timeline import TIME_SOURCES, Timeline
from expert_kedro.settings_base import ParameterSettings

logger = logging.getLogger(__name__)

#: Name of the recency baseline in reports.
RECENT_SYSTEM = "recent_activity"


@dataclass(frozen=True)
class RecencySettings(ParameterSettings):
    """The ``retrieval.recency`` group: the recent-activity signal of the fusion.

    Attributes:
        time_from: When each project was asked: ``created_at`` (a date) or
            ``project_id`` (ids that grow with time); null switches the signal off.
        window: Training projects counted before an agenda; null tunes it over
            ``window_grid`` on validation.
        window_grid: Windows tried when tuning.
        weight: Fixed weight of the signal, in [0, 1]; null tunes it on validation.
        weight_grid: Weights tried when tuning (0 leaves the candidate stage as is).
    """

    GROUP = "retrieval.recency"

    time_from: str | None = "created_at"
    window: int | None = None
    window_grid: tuple[int, ...] = (25, 50, 100, 200)
    weight: float | None = None
    weight_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)

    def validate(self) -> None:
        """Check the time source, the windows and the weights.

        Raises:
            ValueError: Naming the offending ``retrieval.recency.*`` parameter.
        """
        if self.time_from is not None:
            self.check_choice("time_from", TIME_SOURCES)
        self.check(
            "window", self.window is None or self.window >= 1, "must be null or >= 1"
        )
        self.check(
            "window_grid",
            bool(self.window_grid) and all(w >= 1 for w in self.window_grid),
            "must list windows >= 1",
        )
        self.check_fusion_weight("weight", "weight_grid")


def recency_signal(counts: np.ndarray, fusion: str, rrf_k: int) -> np.ndarray:
    """Recent counts in the fusion's form: row z-scores, or reciprocal ranks."""
    return fusion_form(counts, fusion, rrf_k)


@dataclass(frozen=True)
class RecencyFusion:
    """The recency term of the candidate stage: timeline, window and weight."""

    timeline: Timeline
    window: int
    weight: float

    def add(
        self, scores: np.ndarray, times: np.ndarray | None, fusion: str, rrf_k: int
    ) -> np.ndarray:
        """``(1 - w) * scores + w * recent``; a weight of 0 returns ``scores``."""
        if self.weight == 0.0:
            return scores
        counts = self.timeline.counts(times, self.window, len(scores))
        signal = recency_signal(counts, fusion, rrf_k)
        return (1.0 - self.weight) * scores + self.weight * signal


class RecentActivityRetriever:
    """Baseline: the experts who answered the most of the last ``window`` projects.

    Args:
        timeline: Training bookings in time order.
        expert_ids: Roster ids (score columns).
        window: Training projects counted before each agenda.
        name: System name used in reports.
    """

    def __init__(
        self,
        timeline: Timeline,
        expert_ids: np.ndarray,
        *,
        window: int,
        name: str = RECENT_SYSTEM,
    ) -> None:
        self.timeline, self.expert_ids = timeline, expert_ids
        self.window, self.name = int(window), name

    def score_all(
        self, agendas: Sequence[Agenda], times: np.ndarray | None = None
    ) -> np.ndarray:
        """Recent bookings of every expert before each agenda's time."""
        return self.timeline.counts(times, self.window, len(agendas))


def tune_recency(  # noqa: PLR0913 - the stage, its data and the settings
    stage_scores: np.ndarray,
    timeline: Timeline | None,
    validation_projects: pd.DataFrame | None,
    settings: RecencySettings,
    *,
    expert_ids: np.ndarray,
    fusion: str,
    rrf_k: int,
    metric: str,
) -> tuple[RecencyFusion | None, dict[str, Any]]:
    """The recency window and weight: fixed by parameters or tuned on VALIDATION.

    Args:
        stage_scores: Validation scores of the stage before recency (hybrid +
            prior), ``[n_validation, n_experts]``; unused when nothing is tuned.
        timeline: Training bookings in time order (None or empty: no signal).
        validation_projects: Validation projects (``project_id``, ``agenda``,
            ``acceptable_expert_ids`` and the time column).
        settings: The ``retrieval.recency`` group.
        expert_ids: Roster ids (score columns).
        fusion: ``retrieval.hybrid.fusion``.
        rrf_k: Rank offset of reciprocal-rank fusion.
        metric: Validation metric maximised.

    Returns:
        ``(fusion term or None, record)``; the record says where the values came
        from and holds the validation metric of every (window, weight) tried.
    """
    if settings.time_from is None or timeline is None or not len(timeline):
        reason = (
            "retrieval.recency.time_from is null"
            if settings.time_from is None
            else "no training project has a time"
        )
        return None, {"weight": 0.0, "window": None, "source": reason, "grid": []}
    windows = [settings.window] if settings.window else list(settings.window_grid)
    weights = [settings.weight] if settings.weight is not None else None
    fixed = weights is not None and len(windows) == 1
    if fixed:
        term = RecencyFusion(timeline, windows[0], float(weights[0]))
        return term, {
            "weight": term.weight,
            "window": term.window,
            "time_from": timeline.time_from,
            "source": "retrieval.recency.weight and window",
            "grid": [],
        }
    if validation_projects is None or validation_projects.empty:
        raise ValueError(
            "retrieval.recency weight or window is null (tune it) but no validation "
            "projects were given; pass validation_projects or fix both."
        )
    window, weight, record = _search(
        stage_scores,
        timeline,
        validation_projects,
        windows,
        weights or list(settings.weight_grid),
        (expert_ids, fusion, rrf_k, metric),
    )
    return RecencyFusion(timeline, window, weight), record


def _search(  # noqa: PLR0913, PLR0917 - the grid and what it ranks
    stage_scores: np.ndarray,
    timeline: Timeline,
    validation_projects: pd.DataFrame,
    windows: list[int],
    weights: list[float],
    ranking: tuple[np.ndarray, str, int, str],
) -> tuple[int, float, dict[str, Any]]:
    """Every (window, weight) on validation: the best, ties to the smaller weight
    and then the earlier window, and the record of the grid."""
    expert_ids, fusion, rrf_k, metric = ranking
    times = timeline.times_for(validation_projects)
    acceptable = [list(a) for a in validation_projects["acceptable_expert_ids"]]
    n = len(validation_projects)
    tried = []
    for window in windows:
        signal = recency_signal(timeline.counts(times, window, n), fusion, rrf_k)

        def rank_at(weight: float, signal: np.ndarray = signal) -> list[list[Any]]:
            fused = (1.0 - weight) * stage_scores + weight * signal
            return top_k(fused, expert_ids, len(expert_ids))[0].tolist()

        weight, table = tune_weight(
            rank_at,
            acceptable,
            weights,
            metric=metric,
            name="recency_weight",
            prefer=0.0,
        )
        best = float(table.loc[table["recency_weight"] == weight, metric].iloc[0])
        tried.append(((best, -weight, -len(tried)), window, weight, table))
    _, window, weight, _ = max(tried, key=lambda item: item[0])
    return (
        window,
        weight,
        {
            "weight": weight,
            "window": window,
            "time_from": timeline.time_from,
            "source": "tuned on validation",
            "tuning_metric": metric,
            "n_validation_projects": n,
            "validation_untimed": int(np.isnan(times).sum()),
            "grid": [
                {"window": tried_window, **row}
                for _, tried_window, _, table in tried
                for row in table.round(6).to_dict("records")
            ],
        },
    )

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

    timeline = Timeline.from_pairs(train_pairs, clean_matches, roster_ids, "project_id")
    timeline.counts(timeline.times_for(test_projects), window=50)  # [n, n_experts]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.evaluation.tuning import tune_weight
from expert_kedro.identifiers import as_id
from expert_kedro.retrieval.base import Agenda, top_k, zscore_rows
from expert_kedro.retrieval.hybrid import _ranks
from expert_kedro.settings_base import ParameterSettings

logger = logging.getLogger(__name__)

#: Name of the recency baseline in reports.
RECENT_SYSTEM = "recent_activity"
TIME_SOURCES = ("created_at", "project_id")


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
        self.check(
            "weight",
            self.weight is None or 0.0 <= self.weight <= 1.0,
            "must be null (tune on validation) or in [0, 1]",
        )
        self.check(
            "weight_grid",
            bool(self.weight_grid) and all(0.0 <= w <= 1.0 for w in self.weight_grid),
            "must list weights in [0, 1]",
        )


def project_times(projects: pd.DataFrame, time_from: str | None) -> np.ndarray:
    """When each project was asked, as a number that grows with time.

    Args:
        projects: Rows with ``project_id`` (and ``created_at`` for that source).
        time_from: ``created_at`` (seconds since the epoch of the parsed date) or
            ``project_id`` (the id read as a number).

    Returns:
        One float per row; NaN where the time is unknown (no such column, an empty
        or unparseable cell, or no time source).
    """
    if time_from is None or time_from not in projects.columns:
        return np.full(len(projects), np.nan)
    cells = projects[time_from].astype("string").str.strip()
    if time_from == "project_id":
        return pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
    dates = pd.to_datetime(cells, errors="coerce", utc=True, format="mixed")
    seconds = (dates - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype=float, na_value=np.nan)


@dataclass(frozen=True)
class Timeline:
    """The TRAINING bookings in the order their projects were asked.

    Attributes:
        time_from: Where the times came from (``retrieval.recency.time_from``).
        project_ids: Training projects with a known time, in time order.
        times: Their times (non-decreasing).
        booking_project: Position in ``project_ids`` of every booking (sorted).
        booking_expert: Roster position of every booking's expert.
        n_experts: Roster size (the column count of :meth:`counts`).
    """

    time_from: str
    project_ids: np.ndarray
    times: np.ndarray
    booking_project: np.ndarray
    booking_expert: np.ndarray
    n_experts: int

    @classmethod
    def from_pairs(
        cls,
        train_pairs: pd.DataFrame,
        projects: pd.DataFrame,
        expert_ids: Sequence[Any],
        time_from: str,
    ) -> Timeline:
        """Order the training (project, expert) bookings by project time.

        Args:
            train_pairs: Training pairs (``project_id``, ``expert_id``).
            projects: Rows holding each project's time column (``clean_matches``;
                unused when the time is the project id).
            expert_ids: Roster ids, in the order of the score columns.
            time_from: ``created_at`` or ``project_id``.

        Returns:
            The timeline; bookings of projects without a time, or of experts off the
            roster, are left out (counted in the log).
        """
        if time_from == "project_id" or "project_id" not in projects.columns:
            projects = train_pairs  # the id is the time, or no other rows are given
        first = projects.drop_duplicates("project_id")
        known = dict(
            zip(
                (as_id(p) for p in first["project_id"]),
                project_times(first, time_from),
                strict=True,
            )
        )
        position = {as_id(e): i for i, e in enumerate(expert_ids)}
        rows = [
            (known.get(as_id(p), np.nan), as_id(p), position.get(as_id(e)))
            for p, e in train_pairs[["project_id", "expert_id"]].itertuples(index=False)
        ]
        kept = [r for r in rows if not np.isnan(r[0]) and r[2] is not None]
        untimed = {p for t, p, _ in rows if np.isnan(t)}
        if untimed:
            logger.warning(
                "Recency: %d training project(s) have no usable %s (e.g. %s); "
                "their bookings are left out of the recent-activity signal.",
                len(untimed),
                time_from,
                sorted(untimed)[:3],
            )
        kept.sort(key=lambda r: (r[0], r[1]))
        ids = list(dict.fromkeys(p for _, p, _ in kept))
        rank = {p: i for i, p in enumerate(ids)}
        time_of = {p: t for t, p, _ in kept}
        return cls(
            time_from=time_from,
            project_ids=np.asarray(ids, dtype=np.str_),
            times=np.asarray([time_of[p] for p in ids], dtype=float),
            booking_project=np.asarray([rank[p] for _, p, _ in kept], dtype=np.int64),
            booking_expert=np.asarray([e for _, _, e in kept], dtype=np.int64),
            n_experts=len(position),
        )

    def __len__(self) -> int:
        """Training projects with a known time."""
        return len(self.project_ids)

    def times_for(self, projects: pd.DataFrame) -> np.ndarray:
        """When each row's project was asked: the recorded time of a training
        project, otherwise the row's own time column; NaN (now) when unknown."""
        recorded = dict(zip(self.project_ids.tolist(), self.times, strict=True))
        own = project_times(projects, self.time_from)
        return np.asarray(
            [
                recorded.get(as_id(p), t)
                for p, t in zip(projects["project_id"], own, strict=True)
            ],
            dtype=float,
        )

    def counts(self, times: np.ndarray | None, window: int, n: int) -> np.ndarray:
        """Bookings of each expert among the last ``window`` projects before a time.

        Args:
            times: One time per agenda (NaN: now); None: every agenda is now.
            window: Training projects counted.
            n: Number of agendas (the rows).

        Returns:
            ``[n, n_experts]`` counts.
        """
        at = np.full(n, np.inf) if times is None else np.asarray(times, dtype=float)
        at = np.where(np.isnan(at), np.inf, at)
        before = np.searchsorted(self.times, at, side="left")
        starts = np.searchsorted(self.booking_project, np.maximum(before - window, 0))
        ends = np.searchsorted(self.booking_project, before)
        out = np.zeros((len(at), self.n_experts))
        for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
            out[row] = np.bincount(
                self.booking_expert[start:end], minlength=self.n_experts
            )
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a saved index stores (see ``index_io``)."""
        return {
            "project_ids": self.project_ids,
            "times": self.times,
            "booking_project": self.booking_project,
            "booking_expert": self.booking_expert,
        }


def retriever_times(retriever: Any, projects: pd.DataFrame) -> np.ndarray | None:
    """When each project row was asked, for a retriever whose scores depend on it.

    Args:
        retriever: Any scoring retriever; a time-aware one has a ``timeline``.
        projects: Rows with ``project_id`` (and the timeline's time column).

    Returns:
        One time per row (NaN: now), or None when the retriever has no timeline.
    """
    timeline = getattr(retriever, "timeline", None)
    return None if timeline is None else timeline.times_for(projects)


def recency_signal(counts: np.ndarray, fusion: str, rrf_k: int) -> np.ndarray:
    """Recent counts in the fusion's form: row z-scores, or reciprocal ranks."""
    if fusion == "rrf":
        return 1.0 / (rrf_k + _ranks(counts))
    return zscore_rows(counts)


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
            weights or list(settings.weight_grid),
            metric=metric,
            name="recency_weight",
            prefer=0.0,
        )
        best = float(table.loc[table["recency_weight"] == weight, metric].iloc[0])
        tried.append(((best, -weight, -len(tried)), window, weight, table))
    _, window, weight, _ = max(tried, key=lambda item: item[0])
    return RecencyFusion(timeline, window, weight), {
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
    }

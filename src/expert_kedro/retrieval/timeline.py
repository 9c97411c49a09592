"""When projects were asked, and the training bookings in that order.

The recent-activity term of the candidate stage (:mod:`.recency`) counts an
expert's bookings among the training projects asked just before an agenda. This
module reads project times (``created_at`` dates, or ids that grow with time) and
keeps the training bookings in time order, as the retrieval index saves them::

    timeline = Timeline.from_pairs(train_pairs, clean_matches, roster_ids, "created_at")
    timeline.counts(timeline.times_for(test_projects), window=50, n=len(test_projects))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id

logger = logging.getLogger(__name__)

TIME_SOURCES = ("created_at", "project_id")
_ARRAYS = ("project_ids", "times", "booking_project", "booking_expert")


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

    def record(self) -> dict[str, Any]:
        """What a saved index's manifest says about the timeline."""
        return {
            "time_from": self.time_from,
            "n_projects": len(self),
            "n_bookings": len(self.booking_expert),
        }

    def save(self, folder: Path) -> None:
        """Write the arrays as ``.npy`` files into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path, record: dict[str, Any], n_experts: int) -> Timeline:
        """Read a saved timeline and check it against its manifest ``record``.

        Raises:
            ValueError: If the arrays disagree with the recorded counts.
        """
        arrays = {
            name: np.load(folder / f"{name}.npy", allow_pickle=False)
            for name in _ARRAYS
        }
        timeline = cls(time_from=record["time_from"], n_experts=n_experts, **arrays)
        if timeline.record() != record:
            raise ValueError(
                f"{folder.name}/ holds {json.dumps(timeline.record())}; the "
                f"manifest says {json.dumps(record)}"
            )
        return timeline


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


def as_of_times(
    timeline: Timeline, as_of: Sequence[Any], cases: Sequence[Any]
) -> np.ndarray:
    """Times of the ``as_of`` cells of new agendas, for back-tests at inference.

    Args:
        timeline: The saved index's timeline (its ``time_from`` says how to read a
            cell: a date for ``created_at``, a project id for ``project_id``).
        as_of: One cell per agenda; empty: now.
        cases: Case ids, named in errors.

    Returns:
        One time per agenda (NaN: now).

    Raises:
        ValueError: Naming the cases whose cell is neither empty nor readable.
    """
    cells = pd.Series(list(as_of), dtype="string").fillna("").str.strip()
    times = project_times(pd.DataFrame({timeline.time_from: cells}), timeline.time_from)
    bad = [
        str(c) for c, t, v in zip(cases, times, cells, strict=True) if v and np.isnan(t)
    ]
    if bad:
        wanted = "a date" if timeline.time_from == "created_at" else "a project id"
        raise ValueError(
            f"new_agendas: as_of of case(s) {bad[:10]} is not {wanted} (the index "
            f"orders projects by {timeline.time_from}); leave it empty to score as "
            "of now."
        )
    return times

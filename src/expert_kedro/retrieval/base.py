"""Common interface of every recommender scored by the evaluation harness.

Two protocols:

* ``ScoringRetriever``: scores *every* roster expert for each agenda
  (``score_all(agendas) -> [n_agendas, n_experts]``, columns ordered as
  ``expert_ids``). BM25, dense, hybrid and popularity implement it.
* ``Recommender``: returns ranked roster expert ids (``rank(agendas, k)``). Any
  ``ScoringRetriever`` becomes one through ``ScoringRecommender``; an LLM system can
  implement ``rank`` directly.

``top_k`` is the single place that turns scores into rankings, so every system breaks
ties the same way (roster order) and always returns exactly ``k`` distinct roster
experts. The small helpers at the end (agenda text and digest, column checks) are
shared by the retrieval modules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

Agenda = Sequence[str]


@runtime_checkable
class ScoringRetriever(Protocol):
    """A retriever that scores every roster expert for an agenda."""

    name: str
    expert_ids: np.ndarray

    def score_all(self, agendas: Sequence[Agenda]) -> np.ndarray:
        """Scores of shape ``[len(agendas), len(expert_ids)]``; higher is better."""
        ...


@runtime_checkable
class Recommender(Protocol):
    """A system that returns ranked roster experts for each agenda."""

    name: str

    def rank(self, agendas: Sequence[Agenda], k: int) -> list[list[int]]:
        """Up to ``k`` distinct roster expert ids per agenda, best first."""
        ...


def top_k(
    scores: np.ndarray, expert_ids: Sequence[int] | np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best roster experts of each row of a score matrix.

    Ties are broken by roster order (stable sort), so rankings are deterministic.

    Args:
        scores: ``[n_agendas, n_experts]`` scores, higher is better.
        expert_ids: Roster expert ids, aligned with the score columns.
        k: How many experts to return per agenda (1 <= k <= roster size).

    Returns:
        ``(ids, top_scores)``, both ``[n_agendas, k]``, best first; every row holds
        ``k`` distinct roster expert ids.

    Raises:
        ValueError: If shapes disagree, ``k`` is out of range or the scores hold NaN.
    """
    ids = np.asarray(expert_ids)
    matrix = np.atleast_2d(np.asarray(scores, dtype=float))
    if matrix.shape[1] != len(ids):
        raise ValueError(
            f"Score matrix has {matrix.shape[1]} columns but the roster has "
            f"{len(ids)} experts; columns must follow expert_ids."
        )
    # A hash check: np.unique sorts, which dominates a top-10 over a large roster.
    if not pd.Index(ids).is_unique:
        raise ValueError("expert_ids contains duplicates; roster ids must be unique.")
    if not 1 <= k <= len(ids):
        raise ValueError(
            f"k must be between 1 and the roster size {len(ids)}, got {k}."
        )
    if np.isnan(matrix).any():
        raise ValueError("Score matrix contains NaN; cannot rank experts.")
    if k == len(ids):
        order = np.argsort(-matrix, axis=1, kind="stable")
    else:
        order = np.stack([_top_positions(row, k) for row in matrix])
    return ids[order], np.take_along_axis(matrix, order, axis=1)


def _top_positions(row: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores of ``row``, exactly as a stable full sort.

    A partial selection finds the k-th best score; every position scoring at least
    that much (ties at the boundary included, in roster order) is then sorted stably,
    so the result is the first ``k`` of ``np.argsort(-row, kind="stable")`` at a
    fraction of its cost on a large roster.
    """
    kth = -np.partition(-row, k - 1)[k - 1]
    candidates = np.flatnonzero(row >= kth)
    return candidates[np.argsort(-row[candidates], kind="stable")[:k]]


class ScoringRecommender:
    """Adapts a ``ScoringRetriever`` to the ``Recommender`` protocol.

    Args:
        retriever: Any object with ``name``, ``expert_ids`` and ``score_all``.
    """

    def __init__(self, retriever: ScoringRetriever) -> None:
        self.retriever = retriever
        self.name = retriever.name

    def rank(self, agendas: Sequence[Agenda], k: int) -> list[list[int]]:
        """The ``k`` best roster experts per agenda (see ``top_k``)."""
        ids, _ = top_k(self.retriever.score_all(agendas), self.retriever.expert_ids, k)
        return ids.tolist()


def agenda_text(agenda: Agenda) -> str:
    """One query string for an agenda: its questions joined by spaces.

    Args:
        agenda: The client's questions.

    Returns:
        The questions, stripped, separated by single spaces.
    """
    return " ".join(question.strip() for question in agenda if question.strip())


def zscore_rows(scores: np.ndarray) -> np.ndarray:
    """Standardise each row (one agenda's scores over the roster).

    Rows with zero spread (e.g. a query with no known BM25 term) become all zeros, so
    they neither help nor hurt in a fusion.

    Args:
        scores: ``[n_agendas, n_experts]`` scores.

    Returns:
        Row-wise z-scores of the same shape.
    """
    matrix = np.asarray(scores, dtype=float)
    mean = matrix.mean(axis=1, keepdims=True)
    std = matrix.std(axis=1, keepdims=True)
    return np.divide(matrix - mean, std, out=np.zeros_like(matrix), where=std > 0)


def agenda_digest(agenda: Sequence[str]) -> str:
    """Stable digest of an agenda, case and whitespace ignored.

    Args:
        agenda: The agenda's questions.

    Returns:
        Hex SHA-1 of the normalised questions (a short, comparable key).
    """
    key = "\n".join(" ".join(question.lower().split()) for question in agenda)
    return hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).hexdigest()


def require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Fail naming the dataset and the missing columns.

    Raises:
        ValueError: If ``frame`` lacks any of ``columns``.
    """
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"Dataset '{name}' lacks column(s) {missing}; found {list(frame.columns)}."
        )


def as_text_list(value: object) -> list[str]:
    """A list-like cell (list, numpy array from parquet) as a list of strings."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]

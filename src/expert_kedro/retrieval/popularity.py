"""Popularity baseline: recommend the experts booked most often in training."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from expert_kedro.retrieval.base import Agenda
from expert_kedro.retrieval.expert_documents import ExpertDocuments


class PopularityRetriever:
    """Ignores the agenda; scores each expert by their number of training projects.

    Args:
        name: System name used in reports.
    """

    def __init__(self, *, name: str = "popularity") -> None:
        self.name = name
        self.expert_ids = np.empty(0, dtype=int)
        self.documents: ExpertDocuments | None = None
        self.fit_seconds = 0.0
        self._counts = np.empty(0, dtype=float)

    def fit(self, documents: ExpertDocuments) -> PopularityRetriever:
        """Count the training projects of every roster expert."""
        self.documents = documents
        self.expert_ids = documents.expert_ids
        self._counts = np.array(
            [len(agendas) for agendas in documents.agendas], dtype=float
        )
        return self

    @classmethod
    def from_counts(
        cls, expert_ids: np.ndarray, counts: np.ndarray, *, name: str = "popularity"
    ) -> PopularityRetriever:
        """A fitted baseline from saved training-project counts (roster order)."""
        counts = np.asarray(counts, dtype=float)
        if counts.shape != (len(expert_ids),):
            raise ValueError(
                f"Popularity counts of shape {counts.shape} do not match "
                f"{len(expert_ids)} expert ids."
            )
        retriever = cls(name=name)
        retriever.expert_ids, retriever._counts = np.asarray(expert_ids), counts
        return retriever

    @property
    def counts(self) -> np.ndarray:
        """Training projects of each roster expert (the baseline's score)."""
        return self._counts

    def score_all(self, agendas: Sequence[Agenda]) -> np.ndarray:
        """The same training-frequency scores for every agenda."""
        return np.tile(self._counts, (len(agendas), 1))

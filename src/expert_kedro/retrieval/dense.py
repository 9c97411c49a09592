"""Dense retrieval: cosine similarity between agenda and expert embeddings."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from expert_kedro.retrieval.base import Agenda, agenda_text
from expert_kedro.retrieval.encoder import SentenceEncoder
from expert_kedro.retrieval.expert_documents import ExpertDocuments

logger = logging.getLogger(__name__)


class DenseRetriever:
    """Scores experts by cosine similarity of sentence embeddings.

    An expert's vector blends what they say about themselves with what clients asked
    them: ``profile_weight * emb(profile + skills) + (1 - profile_weight) *
    mean(emb(training agenda))``, then unit-normalised. Experts without a training
    project are represented by their profile alone.

    Args:
        encoder: Sentence encoder (shared, caches embeddings).
        profile_weight: Weight ``w`` of the profile embedding, in [0, 1].
        name: System name used in reports.
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        *,
        profile_weight: float = 0.3,
        name: str = "dense",
    ) -> None:
        if not 0.0 <= profile_weight <= 1.0:
            raise ValueError(f"profile_weight must be in [0, 1], got {profile_weight}.")
        self.name = name
        self.encoder = encoder
        self.profile_weight = profile_weight
        self.expert_ids = np.empty(0, dtype=int)
        self.documents: ExpertDocuments | None = None
        self.fit_seconds = 0.0
        self._expert_matrix: np.ndarray | None = None

    def fit(self, documents: ExpertDocuments) -> DenseRetriever:
        """Embed profiles and training agendas and build one vector per expert.

        Args:
            documents: Per-expert texts built from the training split.

        Returns:
            self, for chaining.
        """
        start = time.perf_counter()
        profiles = self.encoder.encode(
            [
                f"{profile} Skills: {skills}"
                for profile, skills in zip(
                    documents.profiles, documents.skills, strict=True
                )
            ]
        )
        # One batched call embeds every training agenda; the loop below hits the cache.
        self.encoder.encode(
            [
                agenda_text(a)
                for expert_agendas in documents.agendas
                for a in expert_agendas
            ]
        )
        vectors = np.empty_like(profiles)
        for i, expert_agendas in enumerate(documents.agendas):
            if expert_agendas:
                history = self.encoder.encode([agenda_text(a) for a in expert_agendas])
                vectors[i] = self.profile_weight * profiles[i] + (
                    1.0 - self.profile_weight
                ) * history.mean(axis=0)
            else:
                vectors[i] = profiles[i]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._expert_matrix = vectors / np.where(norms > 0, norms, 1.0)
        self.documents = documents
        self.expert_ids = documents.expert_ids
        self.fit_seconds = time.perf_counter() - start
        logger.info(
            "Dense index of %d experts (profile weight %.2f) built in %.1fs.",
            len(self.expert_ids),
            self.profile_weight,
            self.fit_seconds,
        )
        return self

    def score_all(self, agendas: Sequence[Agenda]) -> np.ndarray:
        """Cosine similarity of each agenda to every roster expert.

        Args:
            agendas: Agendas, each a list of questions.

        Returns:
            ``[len(agendas), n_experts]`` similarities in [-1, 1].

        Raises:
            RuntimeError: If called before ``fit``.
        """
        if self._expert_matrix is None:
            raise RuntimeError("DenseRetriever.score_all called before fit().")
        queries = self.encoder.encode([agenda_text(agenda) for agenda in agendas])
        return (queries @ self._expert_matrix.T).astype(float)

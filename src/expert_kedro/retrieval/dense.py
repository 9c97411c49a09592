"""Dense retrieval: cosine similarity between agenda and expert embeddings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

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

    A retriever restored from saved embeddings (``from_embeddings``) takes a loader
    instead of an encoder: the model is loaded on the first query only, so loading an
    index never pays for the model, and never re-encodes the roster.

    Args:
        encoder: Sentence encoder (shared, caches embeddings), or a no-argument
            callable that loads it when first needed.
        profile_weight: Weight ``w`` of the profile embedding, in [0, 1].
        name: System name used in reports.
    """

    def __init__(
        self,
        encoder: SentenceEncoder | Callable[[], SentenceEncoder],
        *,
        profile_weight: float = 0.3,
        name: str = "dense",
    ) -> None:
        if not 0.0 <= profile_weight <= 1.0:
            raise ValueError(f"profile_weight must be in [0, 1], got {profile_weight}.")
        self.name = name
        if hasattr(encoder, "encode"):
            self._encoder: SentenceEncoder | None = encoder  # type: ignore[assignment]
            self._load_encoder = None
        else:
            self._encoder, self._load_encoder = None, encoder
        self.profile_weight = profile_weight
        self.expert_ids = np.empty(0, dtype=int)
        self.documents: ExpertDocuments | None = None
        self.fit_seconds = 0.0
        self._expert_matrix: np.ndarray | None = None

    @classmethod
    def from_embeddings(
        cls,
        expert_ids: np.ndarray,
        expert_matrix: np.ndarray,
        encoder: SentenceEncoder | Callable[[], SentenceEncoder],
        *,
        profile_weight: float,
        name: str = "dense",
    ) -> DenseRetriever:
        """A fitted retriever from saved expert vectors (no roster encoding).

        Args:
            expert_ids: Roster ids, one per row of ``expert_matrix``.
            expert_matrix: ``[n_experts, dimension]`` unit-length float32 vectors.
            encoder: The encoder that made the vectors, or a loader of it; it only
                encodes queries.
            profile_weight: Profile weight the vectors were built with (recorded).
            name: System name used in reports.

        Returns:
            A retriever that scores like the one that was fitted.

        Raises:
            ValueError: If the matrix is not 2-D with one row per expert id.
        """
        matrix = np.asarray(expert_matrix)
        if matrix.ndim != 2 or matrix.shape[0] != len(expert_ids):
            raise ValueError(
                f"Expert embeddings of shape {matrix.shape} do not match "
                f"{len(expert_ids)} expert ids; expected [n_experts, dimension]."
            )
        retriever = cls(encoder, profile_weight=profile_weight, name=name)
        retriever.expert_ids = np.asarray(expert_ids)
        retriever._expert_matrix = matrix
        return retriever

    @property
    def encoder(self) -> SentenceEncoder:
        """The sentence encoder, loaded now if it was given as a loader."""
        if self._encoder is None and self._load_encoder is not None:
            self._encoder = self._load_encoder()
        if self._encoder is None:
            raise RuntimeError("DenseRetriever has neither an encoder nor a loader.")
        return self._encoder

    @property
    def encoder_loaded(self) -> bool:
        """Whether the encoder is in memory (a restored retriever loads it lazily)."""
        return self._encoder is not None

    @property
    def expert_matrix(self) -> np.ndarray:
        """``[n_experts, dimension]`` unit-length expert vectors (roster order)."""
        if self._expert_matrix is None:
            raise RuntimeError("DenseRetriever.expert_matrix read before fit().")
        return self._expert_matrix

    @staticmethod
    def profile_texts(documents: ExpertDocuments) -> list[str]:
        """The text embedded for each expert's profile side (profile + skills)."""
        return [
            f"{profile} Skills: {skills}"
            for profile, skills in zip(
                documents.profiles, documents.skills, strict=True
            )
        ]

    def fit(self, documents: ExpertDocuments) -> DenseRetriever:
        """Embed profiles and training agendas and build one vector per expert.

        Args:
            documents: Per-expert texts built from the training split.

        Returns:
            self, for chaining.
        """
        start = time.perf_counter()
        profiles = self.encoder.encode(self.profile_texts(documents))
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
        if queries.shape[1] != self._expert_matrix.shape[1]:
            raise ValueError(
                f"The query encoder makes {queries.shape[1]}-d vectors but the expert "
                f"embeddings are {self._expert_matrix.shape[1]}-d: load the encoder "
                "the index was built with."
            )
        return (queries @ self._expert_matrix.T).astype(float)

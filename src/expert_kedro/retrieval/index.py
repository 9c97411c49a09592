"""``RetrievalIndex``: the fitted candidate retriever as one object that can be saved.

Fitting the retrievers means encoding the whole roster with MiniLM; every consumer
(hard negatives, evaluation baselines, inference, the CLI) used to redo it. The index
keeps what fitting produced, the BM25 index, the expert embeddings, the popularity
counts and the tuned fusion, so a consumer loads it (``RetrievalIndexDataset``) and
only encodes its queries::

    index = fit_retrieval_index(documents, settings)  # index_fitting: BM25, dense...
    index = tune_retrieval_index(index, validation_projects)  # fusion weights
    scores = index.score_all([agenda], times)  # candidate stage, cols = expert_ids
    table = index.candidates(agendas, k=10)  # rerank input
    baselines = index.retrievers()  # popularity/bm25/dense/hybrid/hybrid+prior

The sentence encoder is loaded on the first query only, and refused if it is not the
model that embedded the roster (``EncoderInfo.signature``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id
from expert_kedro.retrieval.base import Agenda, ScoringRetriever
from expert_kedro.retrieval.bm25 import BM25Retriever
from expert_kedro.retrieval.dense import DenseRetriever
from expert_kedro.retrieval.encoder import EncoderInfo
from expert_kedro.retrieval.hybrid import HybridRetriever
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.prior import PRIOR_SYSTEM, PriorFusedRetriever
from expert_kedro.retrieval.recency import (
    RECENT_SYSTEM,
    RecencyFusion,
    RecentActivityRetriever,
)
from expert_kedro.retrieval.settings import RetrievalSettings
from expert_kedro.retrieval.timeline import Timeline

logger = logging.getLogger(__name__)

_UNTUNED = (
    "This RetrievalIndex has no fusion weight yet; tune it with "
    "tune_retrieval_index(index, validation_projects)."
)


class RetrievalIndex:
    """Fitted BM25 + dense + popularity retrievers and their tuned hybrid fusion.

    Implements ``ScoringRetriever`` with the hybrid scores plus the activity prior
    at its tuned weight (``retrieval.prior``; 0 is the plain hybrid), so it replaces
    a ``HybridRetriever`` anywhere (``score_all``, ``expert_ids``, ``candidates``).

    Args:
        bm25: Fitted lexical retriever.
        dense: Fitted dense retriever (same roster order).
        popularity: Fitted training-frequency baseline (same roster order).
        encoder: The encoder that embedded the roster.
        settings: Settings the index was built with.
        fingerprint: ``ExpertDocuments.fingerprint()`` of the indexed documents.
        indexed_project_ids: Training projects whose agendas/answers are indexed.
        indexed_agenda_digests: ``agenda_digest`` of every indexed agenda.
        bm25_weight: Tuned (or fixed) fusion weight; None until tuned.
        tuning: Record of the weight choice (``factory.tune_hybrid``; the prior's
            under ``prior``).
        built_at: UTC time the index was fit (ISO 8601).
        fit_seconds: Fit time of each component.
        prior_weight: Weight of the activity prior (``retrieval.prior``).
        timeline: Training bookings in time order (``retrieval.recency``); None
            when no project time is known.
        recency_window: Training projects the recency signal counts; None until
            tuned (or without a timeline).
        recency_weight: Weight of the recency signal (0: not fused).
    """

    name = "hybrid"

    def __init__(  # noqa: PLR0913 - the fitted parts and what they were built from
        self,
        *,
        bm25: BM25Retriever,
        dense: DenseRetriever,
        popularity: PopularityRetriever,
        encoder: EncoderInfo,
        settings: RetrievalSettings,
        fingerprint: str,
        indexed_project_ids: frozenset[str] = frozenset(),
        indexed_agenda_digests: frozenset[str] = frozenset(),
        bm25_weight: float | None = None,
        tuning: Mapping[str, Any] | None = None,
        built_at: str | None = None,
        fit_seconds: Mapping[str, float] | None = None,
        prior_weight: float = 0.0,
        timeline: Timeline | None = None,
        recency_window: int | None = None,
        recency_weight: float = 0.0,
    ) -> None:
        ids = np.asarray(bm25.expert_ids)
        for part in (dense, popularity):
            if not np.array_equal(ids, part.expert_ids):
                raise ValueError(
                    f"The {part.name} retriever lists other experts (or another "
                    "order) than BM25; every part must be fit on the same documents."
                )
        self.bm25, self.dense, self.popularity = bm25, dense, popularity
        self.encoder, self.settings, self.fingerprint = encoder, settings, fingerprint
        self.indexed_project_ids = frozenset(as_id(p) for p in indexed_project_ids)
        self._agenda_digests = frozenset(indexed_agenda_digests)
        self.bm25_weight = None if bm25_weight is None else float(bm25_weight)
        self.tuning = dict(tuning or {})
        self.built_at = built_at or datetime.now(timezone.utc).isoformat(
            timespec="seconds"
        )
        self.fit_seconds = dict(fit_seconds or {})
        self.prior_weight = float(prior_weight)
        self.timeline = timeline if timeline is not None and len(timeline) else None
        self.recency_window = recency_window if self.timeline else None
        self.recency_weight = float(recency_weight) if self.recency_window else 0.0
        self._hybrid: HybridRetriever | None = None
        self._prior: PriorFusedRetriever | None = None
        if self.bm25_weight is not None:
            self._hybrid = HybridRetriever(
                bm25,
                dense,
                bm25_weight=self.bm25_weight,
                fusion=settings.hybrid.fusion,
                rrf_k=int(settings.hybrid.rrf_k),
            )
            self._prior = PriorFusedRetriever(
                self._hybrid,
                popularity.counts,
                prior_weight=self.prior_weight,
                recency=self.recency,
            )

    @property
    def recency(self) -> RecencyFusion | None:
        """The recency term of the candidate stage (None without a window)."""
        if not self.recency_window:
            return None
        return RecencyFusion(self.timeline, self.recency_window, self.recency_weight)

    @property
    def expert_ids(self) -> np.ndarray:
        """Roster expert ids: the column order of every score matrix."""
        return self.bm25.expert_ids

    @property
    def embeddings(self) -> np.ndarray:
        """``[n_experts, dimension]`` unit-length float32 expert vectors."""
        return self.dense.expert_matrix

    @property
    def popularity_counts(self) -> np.ndarray:
        """Training projects per roster expert."""
        return self.popularity.counts

    @property
    def is_tuned(self) -> bool:
        """Whether the fusion weight is set (the hybrid can score)."""
        return self._hybrid is not None

    @property
    def hybrid(self) -> HybridRetriever:
        """The fused retriever (BM25 weight tuned on validation).

        Raises:
            RuntimeError: If the fusion weight is not set yet.
        """
        if self._hybrid is None:
            raise RuntimeError(_UNTUNED)
        return self._hybrid

    @property
    def hybrid_with_prior(self) -> PriorFusedRetriever:
        """The hybrid with the activity prior at its weight: the candidate stage."""
        if self._prior is None:
            raise RuntimeError(_UNTUNED)
        return self._prior

    def retrievers(self) -> dict[str, ScoringRetriever]:
        """The evaluation's baselines, all ranking from this one index.

        ``recent_activity`` (the recency signal alone, at the tuned window) is one
        of them when the index has a timeline.
        """
        baselines: dict[str, ScoringRetriever] = {
            "popularity": self.popularity,
            "bm25": self.bm25,
            "dense": self.dense,
            "hybrid": self.hybrid,
            PRIOR_SYSTEM: self.hybrid_with_prior,
        }
        if self.recency_window:
            baselines[RECENT_SYSTEM] = RecentActivityRetriever(
                self.timeline, self.expert_ids, window=self.recency_window
            )
        return baselines

    def score_all(
        self, agendas: Sequence[Agenda], times: np.ndarray | None = None
    ) -> np.ndarray:
        """Candidate-stage score of every expert, ``[len(agendas), n_experts]``.

        Args:
            agendas: Agendas, each a list of questions.
            times: When each agenda was asked (``recency.retriever_times``); None:
                now.
        """
        return self.hybrid_with_prior.score_all(agendas, times)

    def candidates(self, agendas: Sequence[Agenda], k: int) -> pd.DataFrame:
        """Top-``k`` experts per agenda (see ``HybridRetriever.candidates``)."""
        return self.hybrid_with_prior.candidates(agendas, k)

    def indexed_agenda_digests(self) -> set[str]:
        """Digests of the indexed training agendas (``check_no_leakage``)."""
        return set(self._agenda_digests)

    def with_fusion(
        self,
        bm25_weight: float,
        tuning: Mapping[str, Any],
        prior_weight: float = 0.0,
        recency: RecencyFusion | None = None,
    ) -> RetrievalIndex:
        """A copy with the fusion weights set (the fitted parts are shared)."""
        return RetrievalIndex(
            bm25=self.bm25,
            dense=self.dense,
            popularity=self.popularity,
            encoder=self.encoder,
            settings=self.settings,
            fingerprint=self.fingerprint,
            indexed_project_ids=self.indexed_project_ids,
            indexed_agenda_digests=self._agenda_digests,
            bm25_weight=bm25_weight,
            tuning=tuning,
            built_at=self.built_at,
            fit_seconds=self.fit_seconds,
            prior_weight=prior_weight,
            timeline=self.timeline,
            recency_window=recency.window if recency else None,
            recency_weight=recency.weight if recency else 0.0,
        )

    def summary(self, n_experts: int = 5) -> dict[str, Any]:
        """What the index is, in a few JSON-ready fields (logs, kedro-viz preview).

        Args:
            n_experts: How many of the most-booked experts to list.
        """
        counts = self.popularity_counts
        top = np.argsort(-counts, kind="stable")[:n_experts]
        return {
            "roster_size": len(self.expert_ids),
            "fusion": self.settings.hybrid.fusion,
            "bm25_weight": self.bm25_weight,
            "prior_weight": self.prior_weight,
            "recency_window": self.recency_window,
            "recency_weight": self.recency_weight,
            "recency_time_from": self.timeline.time_from if self.timeline else None,
            "tuned_on": self.tuning.get("tuned_on"),
            "tuning_metric": self.tuning.get("tuning_metric"),
            "encoder_model": self.encoder.model_path or "all-MiniLM-L6-v2 (bundled)",
            "embedding_dimension": self.encoder.dimension,
            "include_answers": self.settings.index.include_answers,
            "indexed_projects": len(self.indexed_project_ids),
            "fingerprint": self.fingerprint[:16],
            "built_at": self.built_at,
            "most_booked_experts": [
                {
                    "expert_id": str(self.expert_ids[i]),
                    "train_projects": int(counts[i]),
                }
                for i in top
            ],
        }

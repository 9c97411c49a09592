"""``RetrievalIndex``: the fitted candidate retriever as one object that can be saved.

Fitting the retrievers means encoding the whole roster with MiniLM; every consumer
(hard negatives, evaluation baselines, inference, the CLI) used to redo it. The index
keeps what fitting produced, the BM25 index, the expert embeddings, the popularity
counts and the tuned fusion, so a consumer loads it (``RetrievalIndexDataset``) and
only encodes its queries::

    index = fit_retrieval_index(documents, settings)  # BM25 + dense + popularity
    index = tune_retrieval_index(index, validation_projects)  # fusion weights
    scores = index.score_all([agenda])  # hybrid + prior, cols = expert_ids
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
from expert_kedro.retrieval.expert_documents import ExpertDocuments
from expert_kedro.retrieval.factory import fit_bm25, fit_dense, tune_hybrid
from expert_kedro.retrieval.hybrid import HybridRetriever
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.prior import PRIOR_SYSTEM, PriorFusedRetriever, tune_prior
from expert_kedro.retrieval.recency import (
    RECENT_SYSTEM,
    RecencyFusion,
    RecentActivityRetriever,
    Timeline,
    tune_recency,
)
from expert_kedro.retrieval.settings import RetrievalSettings

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
                recency=RecencyFusion(
                    self.timeline, self.recency_window, self.recency_weight
                )
                if self.recency_window
                else None,
            )

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


def fit_retrieval_index(
    documents: ExpertDocuments, settings: RetrievalSettings
) -> RetrievalIndex:
    """Fit BM25, dense and popularity on leak-checked TRAIN documents (no fusion yet).

    Args:
        documents: Expert documents from the training split.
        settings: How to build the index.

    Returns:
        An untuned index; ``tune_retrieval_index`` sets the fusion weight.
    """
    bm25 = fit_bm25(documents, settings.bm25)
    dense = fit_dense(documents, settings.dense)
    popularity = PopularityRetriever().fit(documents)
    return RetrievalIndex(
        bm25=bm25,
        dense=dense,
        popularity=popularity,
        encoder=EncoderInfo.of(dense.encoder, settings.dense.model_path),
        settings=settings,
        fingerprint=documents.fingerprint(),
        indexed_project_ids=documents.indexed_project_ids,
        indexed_agenda_digests=frozenset(documents.indexed_agenda_digests()),
        timeline=documents.timeline,
        fit_seconds={
            "bm25": round(bm25.fit_seconds, 3),
            "dense": round(dense.fit_seconds, 3),
        },
    )


def tune_retrieval_index(
    index: RetrievalIndex, validation_projects: pd.DataFrame | None
) -> RetrievalIndex:
    """Set the fusion weights, each fixed by its parameter or tuned on VALIDATION.

    The BM25 weight first (``retrieval.hybrid``), then the activity prior's at that
    BM25 weight (``retrieval.prior``), then the recency window and weight on top of
    both (``retrieval.recency``).

    Args:
        index: A fitted index.
        validation_projects: Validation projects (``agenda``,
            ``acceptable_expert_ids``); only read when a weight is tuned.

    Returns:
        The index with its fusion weights and tuning record.
    """
    settings = index.settings
    hybrid, tuning = tune_hybrid(
        index.bm25, index.dense, validation_projects, settings.hybrid
    )
    prior_weight, tuning["prior"] = tune_prior(
        hybrid,
        index.popularity.counts,
        validation_projects,
        settings.prior,
        settings.hybrid.tuning_metric,
    )
    recency, tuning["recency"] = _tune_recency(
        index, hybrid, prior_weight, validation_projects
    )
    return index.with_fusion(hybrid.bm25_weight, tuning, prior_weight, recency)


def _tune_recency(
    index: RetrievalIndex,
    hybrid: HybridRetriever,
    prior_weight: float,
    validation_projects: pd.DataFrame | None,
) -> tuple[RecencyFusion | None, dict[str, Any]]:
    """The recency term on top of the tuned hybrid and prior."""
    settings = index.settings
    stage = PriorFusedRetriever(
        hybrid, index.popularity.counts, prior_weight=prior_weight
    )
    needs_scores = (
        index.timeline is not None
        and settings.recency.time_from is not None
        and (settings.recency.weight is None or settings.recency.window is None)
        and validation_projects is not None
        and not validation_projects.empty
    )
    scores = (
        stage.score_all([list(a) for a in validation_projects["agenda"]])
        if needs_scores
        else np.empty((0, len(index.expert_ids)))
    )
    return tune_recency(
        scores,
        index.timeline,
        validation_projects,
        settings.recency,
        expert_ids=index.expert_ids,
        fusion=settings.hybrid.fusion,
        rrf_k=int(settings.hybrid.rrf_k),
        metric=settings.hybrid.tuning_metric,
    )

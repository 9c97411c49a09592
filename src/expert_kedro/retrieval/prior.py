"""Activity prior: how often each expert was booked in TRAINING, fused into the hybrid.

On real expert-finding data a few very active experts answer a large share of the
questions, so the popularity baseline is strong there, while the hybrid ranks by text
alone. The prior adds the popularity baseline's own signal, the training-split
bookings of each expert, as one more term of the fusion, in the fusion's own form:

* ``zscore``: ``z(log(1 + bookings))`` over the roster (the log keeps a handful of
  very active experts from swamping the text scores);
* ``rrf``: ``1 / (rrf_k + rank by bookings)``;

and ``(1 - prior_weight) * hybrid + prior_weight * prior``. A weight of 0 returns the
hybrid's scores unchanged. The weight is tuned on the VALIDATION split after the BM25
weight (a coordinate search over ``retrieval.prior.weight_grid``, ties going to the
smaller weight), and the bookings come from the training documents only, so no
held-out project moves the prior::

    scorer = PriorFusedRetriever(hybrid, popularity.counts, prior_weight=0.2)
    scorer.score_all([agenda])  # [1, n_experts]
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
from expert_kedro.retrieval.hybrid import HybridRetriever, fusion_form
from expert_kedro.retrieval.recency import RecencyFusion
from expert_kedro.retrieval.timeline import Timeline
from expert_kedro.settings_base import ParameterSettings

logger = logging.getLogger(__name__)

#: Name of the prior-fused hybrid in reports: the candidate stage of the reranker.
PRIOR_SYSTEM = "hybrid+prior"


@dataclass(frozen=True)
class PriorSettings(ParameterSettings):
    """The ``retrieval.prior`` group: weight of the activity prior in the fusion.

    Attributes:
        weight: Fixed weight of the prior, in [0, 1]; null tunes it on validation.
        weight_grid: Weights tried when tuning (0 keeps the plain hybrid).
    """

    GROUP = "retrieval.prior"

    weight: float | None = None
    weight_grid: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)

    def validate(self) -> None:
        """Check the fixed weight and the grid.

        Raises:
            ValueError: Naming the offending ``retrieval.prior.*`` parameter.
        """
        self.check_fusion_weight("weight", "weight_grid")


def prior_signal(counts: np.ndarray, fusion: str, rrf_k: int) -> np.ndarray:
    """The prior of every roster expert, in the form the fusion adds up.

    Args:
        counts: Training projects of each roster expert (roster order).
        fusion: ``zscore`` or ``rrf`` (``retrieval.hybrid.fusion``).
        rrf_k: Rank offset of reciprocal-rank fusion.

    Returns:
        ``[n_experts]`` prior scores, higher for busier experts.
    """
    bookings = np.log1p(np.asarray(counts, dtype=float))[None, :]
    return fusion_form(bookings, fusion, rrf_k)[0]


def add_prior(
    hybrid_scores: np.ndarray, signal: np.ndarray, prior_weight: float
) -> np.ndarray:
    """``(1 - w) * hybrid + w * prior``; a weight of 0 returns the hybrid unchanged.

    Raises:
        ValueError: If the weight is outside [0, 1] or the shapes disagree.
    """
    if not 0.0 <= prior_weight <= 1.0:
        raise ValueError(f"prior_weight must be in [0, 1], got {prior_weight}.")
    if hybrid_scores.shape[-1] != len(signal):
        raise ValueError(
            f"The prior covers {len(signal)} experts but the scores have "
            f"{hybrid_scores.shape[-1]} columns; both must follow expert_ids."
        )
    if prior_weight == 0.0:
        return hybrid_scores
    return (1.0 - prior_weight) * hybrid_scores + prior_weight * signal[None, :]


class PriorFusedRetriever(HybridRetriever):
    """The hybrid with the activity prior fused in (the reranker's candidate stage).

    Args:
        hybrid: The tuned BM25 + dense fusion.
        counts: Training projects of each roster expert (roster order).
        prior_weight: Weight of the prior, in [0, 1].
        recency: The recent-activity term fused after the prior
            (:mod:`.recency`); None leaves it out.
        name: System name used in reports.
    """

    def __init__(
        self,
        hybrid: HybridRetriever,
        counts: np.ndarray,
        *,
        prior_weight: float,
        recency: RecencyFusion | None = None,
        name: str = PRIOR_SYSTEM,
    ) -> None:
        super().__init__(
            hybrid.bm25,
            hybrid.dense,
            bm25_weight=hybrid.bm25_weight,
            fusion=hybrid.fusion,
            rrf_k=hybrid.rrf_k,
            name=name,
        )
        if not 0.0 <= prior_weight <= 1.0:
            raise ValueError(f"prior_weight must be in [0, 1], got {prior_weight}.")
        if len(counts) != len(hybrid.expert_ids):
            raise ValueError(
                f"{len(counts)} booking counts for {len(hybrid.expert_ids)} roster "
                "experts; the prior must follow expert_ids."
            )
        self.prior_weight = float(prior_weight)
        self.signal = prior_signal(counts, hybrid.fusion, hybrid.rrf_k)
        self.recency = recency

    @property
    def timeline(self) -> Timeline | None:
        """Training bookings in time order, when recency is fused (else None)."""
        return self.recency.timeline if self.recency else None

    def score_all(
        self, agendas: Sequence[Agenda], times: np.ndarray | None = None
    ) -> np.ndarray:
        """Hybrid scores with the prior and recency added, ``[n_agendas, n_experts]``.

        Args:
            agendas: Agendas, each a list of questions.
            times: When each agenda was asked (``Timeline.times_for``); None or
                NaN: now, after every training project.
        """
        scores = add_prior(super().score_all(agendas), self.signal, self.prior_weight)
        if self.recency is None:
            return scores
        return self.recency.add(scores, times, self.fusion, self.rrf_k)


def tune_prior(
    hybrid: HybridRetriever,
    counts: np.ndarray,
    validation_projects: pd.DataFrame | None,
    settings: PriorSettings,
    metric: str,
) -> tuple[float, dict[str, Any]]:
    """The prior's weight: fixed by ``retrieval.prior.weight`` or tuned on VALIDATION.

    The BM25 weight stays the one tuned without the prior (coordinate search), so
    the plain hybrid and the prior-fused one differ only by the prior.

    Args:
        hybrid: The tuned hybrid.
        counts: Training projects of each roster expert.
        validation_projects: Validation projects (``agenda``,
            ``acceptable_expert_ids``); only read when tuning.
        settings: The ``retrieval.prior`` group.
        metric: Validation metric maximised (the hybrid's tuning metric).

    Returns:
        ``(weight, record)``: the record says where the weight came from and holds
        the validation metrics of every weight tried.

    Raises:
        ValueError: If tuning is requested without validation projects.
    """
    if settings.weight is not None:
        return settings.weight, {
            "prior_weight": settings.weight,
            "tuned_on": None,
            "source": "retrieval.prior.weight",
            "grid": [],
        }
    if validation_projects is None or validation_projects.empty:
        raise ValueError(
            "retrieval.prior.weight is null (tune it) but no validation projects "
            "were given; pass validation_projects or set a fixed weight."
        )
    agendas = [list(agenda) for agenda in validation_projects["agenda"]]
    hybrid_scores = hybrid.score_all(agendas)
    signal = prior_signal(counts, hybrid.fusion, hybrid.rrf_k)
    ids, n_experts = hybrid.expert_ids, len(hybrid.expert_ids)

    def rank_at(weight: float) -> list[list[Any]]:
        fused = add_prior(hybrid_scores, signal, weight)
        return top_k(fused, ids, n_experts)[0].tolist()

    weight, table = tune_weight(
        rank_at,
        [list(a) for a in validation_projects["acceptable_expert_ids"]],
        list(settings.weight_grid),
        metric=metric,
        name="prior_weight",
        prefer=0.0,
    )
    return weight, {
        "prior_weight": weight,
        "tuned_on": "validation",
        "source": "tuned on validation",
        "tuning_metric": metric,
        "n_validation_projects": len(agendas),
        "grid": table.round(6).to_dict("records"),
    }


def describe_candidate_stage(index: Any) -> str:
    """One log line on a ``RetrievalIndex``'s candidate scorer and its weights' source.

    Args:
        index: A tuned ``RetrievalIndex``.

    Returns:
        E.g. ``hybrid (zscore, bm25_weight 0.3 tuned on validation) + activity prior
        weight 0.1 (tuned on validation) + recent activity (last 50 training
        projects by project_id) weight 0.3 (tuned on validation)``; an index saved
        before the prior or recency existed says so (its weight is 0).
    """
    tuning = index.tuning
    prior = tuning.get("prior") or {}
    recency = tuning.get("recency") or {}
    bm25_source = "tuned on validation" if tuning.get("tuned_on") else "fixed"
    recent = (
        f" + recent activity (last {index.recency_window} training projects by "
        f"{index.timeline.time_from}) weight {index.recency_weight} "
        f"({recency.get('source')})"
        if index.recency_window
        else f" (no recency term: {recency.get('source', 'index built before it')})"
    )
    return (
        f"hybrid ({index.settings.hybrid.fusion}, bm25_weight {index.bm25_weight} "
        f"{bm25_source}) + activity prior weight {index.prior_weight} "
        f"({prior.get('source', 'none: index built before the prior')}){recent}; "
        f"index built {index.built_at}"
    )

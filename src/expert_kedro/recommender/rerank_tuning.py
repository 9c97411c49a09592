"""The rerank fusion weight tuned on validation, as data that inference reads.

``evaluation_llm`` tunes ``retrieval_weight`` for one adapter on the validation
projects and saves a :class:`RerankTuning` record (the versioned ``rerank_tuning``
dataset). Inference and ``expert-recommend`` then pick the weight with
:func:`choose_retrieval_weight`, in this order:

1. ``recommender.retrieval_weight`` set in the parameters (a hand override);
2. the tuned weight, when it was tuned for this adapter version and this ``K``
   (``recommender.candidates``);
3. ``recommender.fallback_retrieval_weight``, while no tuning exists for them.

The log line says which weight is used and why, so a run never uses a value copied
by hand from another model without saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from expert_kedro.modeling.handles import LoRAAdapterHandle
from expert_kedro.recommender.settings import RecommenderSettings

logger = logging.getLogger(__name__)

TUNE_COMMAND = "kedro run --pipelines=evaluation_llm"


@dataclass(frozen=True)
class RerankTuning:
    """What ``evaluation_llm`` tuned for one adapter (the ``rerank_tuning`` record).

    Attributes:
        retrieval_weight: The fusion weight chosen on validation (None: the run
            evaluated the generative design, which has no fusion).
        candidates: ``K`` the weight was tuned with.
        adapter_version: ``lora_adapter`` version scored (None: unversioned).
        adapter_path: Folder of that adapter.
        tuning_metric: Metric maximised.
        n_validation_projects: Validation projects the grid was scored on.
        retrieval_index: ``RetrievalIndex.fingerprint`` of the candidates' index.
        tuned_at: UTC time of the tuning (ISO 8601).
    """

    retrieval_weight: float | None
    candidates: int
    adapter_version: str | None
    adapter_path: str
    tuning_metric: str
    n_validation_projects: int
    retrieval_index: str | None = None
    tuned_at: str = ""

    @classmethod
    def of(  # noqa: PLR0913 - one argument per recorded fact
        cls,
        *,
        retrieval_weight: float | None,
        candidates: int,
        adapter: LoRAAdapterHandle,
        tuning_metric: str,
        n_validation_projects: int,
        retrieval_index: str | None,
    ) -> RerankTuning:
        """A record for ``adapter``, stamped now."""
        return cls(
            retrieval_weight=None
            if retrieval_weight is None
            else float(retrieval_weight),
            candidates=int(candidates),
            adapter_version=adapter.version,
            adapter_path=str(adapter.path),
            tuning_metric=tuning_metric,
            n_validation_projects=int(n_validation_projects),
            retrieval_index=retrieval_index,
            tuned_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def to_record(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RerankTuning:
        """Read a saved record.

        Raises:
            ValueError: Naming the missing fields, or a weight outside [0, 1].
        """
        required = ("candidates", "adapter_path")
        missing = [key for key in required if record.get(key) is None]
        if missing:
            raise ValueError(
                f"rerank_tuning lacks {missing}; re-create it with `{TUNE_COMMAND}`."
            )
        known = {key: record[key] for key in cls.__dataclass_fields__ if key in record}
        tuning = cls(**known)
        weight = tuning.retrieval_weight
        if weight is not None and not 0.0 <= float(weight) <= 1.0:
            raise ValueError(
                f"rerank_tuning.retrieval_weight={tuning.retrieval_weight} is outside "
                f"[0, 1]; re-create it with `{TUNE_COMMAND}`."
            )
        return tuning

    def fits(self, adapter: LoRAAdapterHandle) -> bool:
        """Whether this record was tuned for ``adapter`` (version, else folder)."""
        if self.adapter_version is not None and adapter.version is not None:
            return self.adapter_version == adapter.version
        return Path(self.adapter_path).resolve() == Path(adapter.path).resolve()


@dataclass(frozen=True)
class WeightChoice:
    """The fusion weight a run uses and where it comes from.

    Attributes:
        retrieval_weight: The weight.
        source: ``parameters``, ``rerank_tuning`` or ``fallback``.
        reason: One sentence for the log.
    """

    retrieval_weight: float
    source: str
    reason: str


def _adapter_name(adapter: LoRAAdapterHandle) -> str:
    return f"version {adapter.version}" if adapter.version else str(adapter.path)


def _tuned_or_fallback(
    record: RerankTuning | None,
    adapter: LoRAAdapterHandle,
    settings: RecommenderSettings,
) -> WeightChoice:
    fallback = settings.fallback_retrieval_weight
    what = "recommender.fallback_retrieval_weight"
    if record is None:
        return WeightChoice(
            fallback,
            "fallback",
            f"no rerank_tuning exists yet; {what} (tune one for this adapter with "
            f"`{TUNE_COMMAND}`)",
        )
    if record.retrieval_weight is None:
        return WeightChoice(
            fallback,
            "fallback",
            "the latest rerank_tuning holds no fusion weight (evaluation_llm ran in "
            f"generative mode); {what}",
        )
    if not record.fits(adapter):
        tuned_for = record.adapter_version or record.adapter_path
        return WeightChoice(
            fallback,
            "fallback",
            f"rerank_tuning was tuned for adapter {tuned_for}, not "
            f"{_adapter_name(adapter)}; {what} (re-tune with `{TUNE_COMMAND}`)",
        )
    if record.candidates != settings.candidates:
        return WeightChoice(
            fallback,
            "fallback",
            f"rerank_tuning was tuned with candidates={record.candidates}, not "
            f"{settings.candidates}; {what}",
        )
    return WeightChoice(
        record.retrieval_weight,
        "rerank_tuning",
        f"tuned on {record.n_validation_projects} validation projects "
        f"({record.tuning_metric}) for adapter {_adapter_name(adapter)} at "
        f"{record.tuned_at}",
    )


def choose_retrieval_weight(
    settings: RecommenderSettings,
    tuning: Mapping[str, Any] | None,
    adapter: LoRAAdapterHandle,
    *,
    index_fingerprint: str | None = None,
) -> WeightChoice:
    """The rerank fusion weight for ``adapter`` (order in the module docstring).

    Args:
        settings: The ``recommender`` settings.
        tuning: The latest ``rerank_tuning`` record, or None when none exists.
        adapter: The adapter that scores the candidates.
        index_fingerprint: The retrieval index in use (a warning is logged when the
            weight was tuned on another index).

    Returns:
        The weight, its source and the reason, also logged.

    Raises:
        ValueError: If the ``rerank_tuning`` record is malformed.
    """
    record = RerankTuning.from_record(tuning) if tuning else None
    if settings.retrieval_weight is not None:
        tuned = "" if record is None else f" (tuned value {record.retrieval_weight})"
        choice = WeightChoice(
            settings.retrieval_weight,
            "parameters",
            f"recommender.retrieval_weight is set, it overrides any tuning{tuned}",
        )
    else:
        choice = _tuned_or_fallback(record, adapter, settings)
    if (
        choice.source == "rerank_tuning"
        and index_fingerprint
        and record.retrieval_index not in (None, index_fingerprint)
    ):
        logger.warning(
            "rerank_tuning was tuned on another retrieval index than the one loaded; "
            "its weight is used, re-tune with `%s`.",
            TUNE_COMMAND,
        )
    logger.info(
        "Rerank fusion retrieval_weight=%.2f from %s: %s.",
        choice.retrieval_weight,
        choice.source,
        choice.reason,
    )
    return choice

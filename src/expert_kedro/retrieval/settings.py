"""The ``retrieval`` parameter group (conf/base/parameters_retrieval.yml), validated.

One frozen settings object per sub-group, each default written once here::

    retrieval:
      index: {include_answers: false}
      bm25: {k1: 1.5, b: 0.75, method: lucene, stopwords: en}
      dense: {profile_weight: 0.3, batch_size: 64, device: cpu, model_path: null}
      hybrid: {fusion: zscore, rrf_k: 60, bm25_weight: null, weight_grid: [...],
               tuning_metric: mrr}
      prior: {weight: null, weight_grid: [...]}  # retrieval.prior.PriorSettings

The sub-groups have the same keys as the older ``evaluation.index/bm25/dense/hybrid``
groups, so ``factory.fit_bm25`` & co. parse either through these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from expert_kedro.evaluation.metrics import METRIC_NAMES
from expert_kedro.retrieval.hybrid import FUSIONS
from expert_kedro.retrieval.prior import PriorSettings

BM25_METHODS = ("robertson", "lucene", "bm25l", "bm25+", "atire")

_Settings = TypeVar("_Settings")


def _strict(cls: type[_Settings], params: Mapping[str, Any] | None, group: str) -> dict:
    """``params`` as constructor arguments of ``cls``, refusing unknown keys."""
    params = dict(params or {})
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"Unknown {group} parameter(s) {unknown}; known: {sorted(known)}."
        )
    return params


def _invalid(group: str, problems: dict[str, bool]) -> None:
    bad = [name for name, ok in problems.items() if not ok]
    if bad:
        raise ValueError(f"Invalid {group} parameter(s): {', '.join(bad)}.")


@dataclass(frozen=True)
class IndexSettings:
    """What goes into each expert's document.

    Attributes:
        include_answers: Also index each expert's TRAINING answers (train pairs
            only) in BM25, not just profile, skills and training agendas. Off by
            default because it needs the answers table.
    """

    include_answers: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> IndexSettings:
        """Build from ``retrieval.index``; raises ValueError naming a bad key."""
        settings = cls(**_strict(cls, params, "retrieval.index"))
        _invalid(
            "retrieval.index",
            {
                "include_answers (true/false)": isinstance(
                    settings.include_answers, bool
                )
            },
        )
        return settings


@dataclass(frozen=True)
class BM25Settings:
    """Lexical scoring (``bm25s``).

    Attributes:
        k1: Term-frequency saturation.
        b: Document-length normalisation, in [0, 1].
        method: ``bm25s`` variant (lucene, robertson, atire, bm25l, bm25+).
        stopwords: ``bm25s`` stop-word list name (``en``) or null for none.
    """

    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    stopwords: str | None = "en"

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> BM25Settings:
        """Build from ``retrieval.bm25``; raises ValueError naming a bad key."""
        settings = cls(**_strict(cls, params, "retrieval.bm25"))
        _invalid(
            "retrieval.bm25",
            {
                "k1 (> 0)": float(settings.k1) > 0,
                "b (in [0, 1])": 0.0 <= float(settings.b) <= 1.0,
                f"method (one of {BM25_METHODS})": settings.method in BM25_METHODS,
            },
        )
        return settings


@dataclass(frozen=True)
class DenseSettings:
    """Sentence-embedding side (all-MiniLM-L6-v2 by default).

    Attributes:
        profile_weight: Expert vector = ``w * emb(profile + skills) + (1 - w) *
            mean(emb(training agendas))``, normalised.
        batch_size: Texts per encoder forward pass.
        device: Torch device that encodes the roster (and, by default, queries).
        model_path: Local sentence-transformers folder; null: the bundled MiniLM.
    """

    profile_weight: float = 0.3
    batch_size: int = 64
    device: str = "cpu"
    model_path: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> DenseSettings:
        """Build from ``retrieval.dense``; raises ValueError naming a bad key."""
        settings = cls(**_strict(cls, params, "retrieval.dense"))
        _invalid(
            "retrieval.dense",
            {
                "profile_weight (in [0, 1])": 0.0
                <= float(settings.profile_weight)
                <= 1.0,
                "batch_size (>= 1)": int(settings.batch_size) >= 1,
            },
        )
        return settings


@dataclass(frozen=True)
class HybridSettings:
    """Fusion of BM25 and dense scores.

    Attributes:
        fusion: ``zscore`` (weighted per-agenda z-scores) or ``rrf``.
        rrf_k: Rank offset of reciprocal-rank fusion.
        bm25_weight: Fixed weight of the BM25 side; null tunes it on validation.
        weight_grid: Weights tried when tuning.
        tuning_metric: Validation metric maximised by the tuning.
    """

    fusion: str = "zscore"
    rrf_k: int = 60
    bm25_weight: float | None = None
    weight_grid: tuple[float, ...] = field(
        default=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    )
    tuning_metric: str = "mrr"

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> HybridSettings:
        """Build from ``retrieval.hybrid``; raises ValueError naming a bad key."""
        args = _strict(cls, params, "retrieval.hybrid")
        if "weight_grid" in args:
            args["weight_grid"] = tuple(float(w) for w in args["weight_grid"] or ())
        settings = cls(**args)
        weight = settings.bm25_weight
        _invalid(
            "retrieval.hybrid",
            {
                f"fusion (one of {FUSIONS})": settings.fusion in FUSIONS,
                "rrf_k (>= 1)": int(settings.rrf_k) >= 1,
                "bm25_weight (null or in [0, 1])": weight is None
                or 0.0 <= float(weight) <= 1.0,
                "weight_grid (non-empty, values in [0, 1])": bool(settings.weight_grid)
                and all(0.0 <= w <= 1.0 for w in settings.weight_grid),
                f"tuning_metric (one of {METRIC_NAMES})": settings.tuning_metric
                in METRIC_NAMES,
            },
        )
        return settings


@dataclass(frozen=True)
class RetrievalSettings:
    """Validated ``retrieval`` parameters: how the retrieval index is built.

    Attributes:
        index: Content of the expert documents.
        bm25: Lexical scoring.
        dense: Sentence embeddings.
        hybrid: Fusion and its tuning.
        prior: Weight of the activity prior fused into the hybrid.
    """

    index: IndexSettings = field(default_factory=IndexSettings)
    bm25: BM25Settings = field(default_factory=BM25Settings)
    dense: DenseSettings = field(default_factory=DenseSettings)
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    prior: PriorSettings = field(default_factory=PriorSettings)

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> RetrievalSettings:
        """Build from the ``retrieval`` parameter group.

        Raises:
            ValueError: Naming the unknown or invalid ``retrieval.*`` parameter.
        """
        groups = _strict(cls, params, "retrieval")
        return cls(
            index=IndexSettings.from_params(groups.get("index")),
            bm25=BM25Settings.from_params(groups.get("bm25")),
            dense=DenseSettings.from_params(groups.get("dense")),
            hybrid=HybridSettings.from_params(groups.get("hybrid")),
            prior=PriorSettings.from_params(groups.get("prior")),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready), e.g. recorded in an index manifest."""
        data = asdict(self)
        data["hybrid"]["weight_grid"] = list(self.hybrid.weight_grid)
        data["prior"]["weight_grid"] = list(self.prior.weight_grid)
        return data

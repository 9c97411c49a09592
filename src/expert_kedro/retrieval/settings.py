"""The ``retrieval`` parameter group (conf/base/parameters_retrieval.yml), typed.

One frozen settings object per sub-group on the shared
:class:`~expert_kedro.settings_base.ParameterSettings` base, each default written
once here::

    retrieval:
      index: {include_answers: false}
      bm25: {k1: 1.5, b: 0.75, method: lucene, stopwords: en}
      dense: {profile_weight: 0.3, batch_size: 64, device: cpu, model_path: null}
      hybrid: {fusion: zscore, rrf_k: 60, bm25_weight: null, weight_grid: [...],
               tuning_metric: mrr}
      prior: {weight: null, weight_grid: [...]}  # retrieval.prior.PriorSettings
      recency: {time_from: created_at, window: null, window_grid: [...],
                weight: null, weight_grid: [...]}  # retrieval.recency

Errors name the parameter (``retrieval.hybrid.fusion``); ``factory.fit_bm25`` & co.
take the sub-group objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from expert_kedro.evaluation.metrics import METRIC_NAMES
from expert_kedro.retrieval.hybrid import FUSIONS
from expert_kedro.retrieval.prior import PriorSettings
from expert_kedro.retrieval.recency import RecencySettings
from expert_kedro.settings_base import ParameterSettings

BM25_METHODS = ("robertson", "lucene", "bm25l", "bm25+", "atire")


@dataclass(frozen=True)
class IndexSettings(ParameterSettings):
    """What goes into each expert's document.

    Attributes:
        include_answers: Also index each expert's TRAINING answers (train pairs
            only) in BM25, not just profile, skills and training agendas. Off by
            default because it needs the answers table.
    """

    GROUP = "retrieval.index"

    include_answers: bool = False


@dataclass(frozen=True)
class BM25Settings(ParameterSettings):
    """Lexical scoring (``bm25s``).

    Attributes:
        k1: Term-frequency saturation.
        b: Document-length normalisation, in [0, 1].
        method: ``bm25s`` variant (lucene, robertson, atire, bm25l, bm25+).
        stopwords: ``bm25s`` stop-word list name (``en``) or null for none.
    """

    GROUP = "retrieval.bm25"

    k1: float = 1.5
    b: float = 0.75
    method: str = "lucene"
    stopwords: str | None = "en"

    def validate(self) -> None:
        """Check ``k1``, ``b`` and the variant.

        Raises:
            ValueError: Naming the offending ``retrieval.bm25.*`` parameter.
        """
        self.check("k1", self.k1 > 0, "must be > 0")
        self.check("b", 0.0 <= self.b <= 1.0, "must be in [0, 1]")
        self.check_choice("method", BM25_METHODS)


@dataclass(frozen=True)
class DenseSettings(ParameterSettings):
    """Sentence-embedding side (all-MiniLM-L6-v2 by default).

    Attributes:
        profile_weight: Expert vector = ``w * emb(profile + skills) + (1 - w) *
            mean(emb(training agendas))``, normalised.
        batch_size: Texts per encoder forward pass.
        device: Torch device that encodes the roster (and, by default, queries).
        model_path: Local sentence-transformers folder; null: the bundled MiniLM.
    """

    GROUP = "retrieval.dense"

    profile_weight: float = 0.3
    batch_size: int = 64
    device: str = "cpu"
    model_path: str | None = None

    def validate(self) -> None:
        """Check the profile weight and the batch size.

        Raises:
            ValueError: Naming the offending ``retrieval.dense.*`` parameter.
        """
        self.check(
            "profile_weight", 0.0 <= self.profile_weight <= 1.0, "must be in [0, 1]"
        )
        self.check("batch_size", self.batch_size >= 1, "must be >= 1")


@dataclass(frozen=True)
class HybridSettings(ParameterSettings):
    """Fusion of BM25 and dense scores.

    Attributes:
        fusion: ``zscore`` (weighted per-agenda z-scores) or ``rrf``.
        rrf_k: Rank offset of reciprocal-rank fusion.
        bm25_weight: Fixed weight of the BM25 side; null tunes it on validation.
        weight_grid: Weights tried when tuning.
        tuning_metric: Validation metric maximised by the tuning.
    """

    GROUP = "retrieval.hybrid"

    fusion: str = "zscore"
    rrf_k: int = 60
    bm25_weight: float | None = None
    weight_grid: tuple[float, ...] = field(
        default=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    )
    tuning_metric: str = "mrr"

    def validate(self) -> None:
        """Check the fusion, its offset, the weights and the tuning metric.

        Raises:
            ValueError: Naming the offending ``retrieval.hybrid.*`` parameter.
        """
        self.check_choice("fusion", FUSIONS)
        self.check("rrf_k", self.rrf_k >= 1, "must be >= 1")
        weight = self.bm25_weight
        self.check(
            "bm25_weight",
            weight is None or 0.0 <= weight <= 1.0,
            "must be null (tuned) or in [0, 1]",
        )
        self.check(
            "weight_grid",
            bool(self.weight_grid) and all(0.0 <= w <= 1.0 for w in self.weight_grid),
            "must list weights in [0, 1]",
        )
        self.check_choice("tuning_metric", METRIC_NAMES)


@dataclass(frozen=True)
class RetrievalSettings(ParameterSettings):
    """Validated ``retrieval`` parameters: how the retrieval index is built.

    Attributes:
        index: Content of the expert documents.
        bm25: Lexical scoring.
        dense: Sentence embeddings.
        hybrid: Fusion and its tuning.
        prior: Weight of the activity prior fused into the hybrid.
        recency: The recent-activity signal fused after the prior.
    """

    GROUP = "retrieval"

    index: IndexSettings = field(default_factory=IndexSettings)
    bm25: BM25Settings = field(default_factory=BM25Settings)
    dense: DenseSettings = field(default_factory=DenseSettings)
    hybrid: HybridSettings = field(default_factory=HybridSettings)
    prior: PriorSettings = field(default_factory=PriorSettings)
    recency: RecencySettings = field(default_factory=RecencySettings)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready), e.g. recorded in an index manifest."""
        data = asdict(self)
        data["hybrid"]["weight_grid"] = list(self.hybrid.weight_grid)
        data["prior"]["weight_grid"] = list(self.prior.weight_grid)
        data["recency"]["window_grid"] = list(self.recency.window_grid)
        data["recency"]["weight_grid"] = list(self.recency.weight_grid)
        return data

"""The ``evaluation`` parameter group (metrics, test partial agendas, candidates).

The retrievers' parameters are the ``retrieval`` group (``RetrievalSettings``): the
evaluation ranks with the saved ``retrieval_index`` and fits nothing. The defaults
below are the only ones in the code; ``conf/base/parameters_evaluation.yml``
states the same values with the reasons for them
(tests/test_parameter_settings.py keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from expert_kedro.settings_base import ParameterSettings

# What a project a system did not rank counts as: a miss, or left out of its metrics.
UNRANKED_POLICIES = ("miss", "skip")


@dataclass(frozen=True)
class BootstrapSettings(ParameterSettings):
    """Percentile bootstrap over projects for the metrics' intervals.

    Attributes:
        n_boot: Resamples of the projects (drawn with replacement).
        confidence: Coverage of the intervals.
    """

    GROUP = "evaluation.bootstrap"

    n_boot: int = 2000
    confidence: float = 0.95

    def validate(self) -> None:
        """Check the resample count and the coverage.

        Raises:
            ValueError: Naming the offending ``evaluation.bootstrap.*`` parameter.
        """
        self.check("n_boot", self.n_boot >= 1, "must be >= 1")
        self.check("confidence", 0.0 < self.confidence < 1.0, "must be in (0, 1)")


@dataclass(frozen=True)
class PartialAgendaSettings(ParameterSettings):
    """The partial-agenda variant of the test projects (one per project).

    Attributes:
        seed: Seed of the draws, combined with each project id.
        sizes: Questions per partial agenda.
        min_questions: Projects with fewer questions get no variant.
    """

    GROUP = "evaluation.partial_agendas"

    seed: int = 2026
    sizes: tuple[int, ...] = (3, 4)
    min_questions: int = 4

    def validate(self) -> None:
        """Check the sizes and the minimum agenda length.

        Raises:
            ValueError: Naming the offending ``evaluation.partial_agendas.*``
                parameter.
        """
        self.check(
            "sizes", bool(self.sizes) and min(self.sizes) >= 1, "must list sizes >= 1"
        )
        self.check("min_questions", self.min_questions >= 1, "must be >= 1")


@dataclass(frozen=True)
class CandidateSettings(ParameterSettings):
    """Hybrid candidates handed to an LLM reranker.

    Attributes:
        k: Hybrid top-K kept per held-out agenda.
    """

    GROUP = "evaluation.candidates"

    k: int = 10

    def validate(self) -> None:
        """Check ``k``.

        Raises:
            ValueError: Naming ``evaluation.candidates.k``.
        """
        self.check("k", self.k >= 1, "must be >= 1")


@dataclass(frozen=True)
class EvaluationSettings(ParameterSettings):
    """How held-out projects are ranked and scored.

    Attributes:
        seed: Seed of the bootstrap resamples.
        ranking_depth: Experts kept per project in the baseline rankings (None:
            the whole roster, so that MRR is exact).
        unranked_projects: A project a system did not rank: ``miss`` (scores 0)
            or ``skip`` (metrics over the projects it ranked).
        recall_at: Depths ``K`` of the ``recall@K`` columns (``recall.py``).
        bootstrap: Intervals of the metrics.
        partial_agendas: The test projects' partial agendas.
        candidates: Hybrid candidates of an LLM reranker.
    """

    GROUP = "evaluation"

    seed: int = 2026
    ranking_depth: int | None = None
    unranked_projects: str = "miss"
    recall_at: tuple[int, ...] = (5, 10, 20, 50)
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    partial_agendas: PartialAgendaSettings = field(
        default_factory=PartialAgendaSettings
    )
    candidates: CandidateSettings = field(default_factory=CandidateSettings)

    def validate(self) -> None:
        """Check the depth and the unranked-project policy.

        Raises:
            ValueError: Naming the offending ``evaluation.*`` parameter.
        """
        self.check(
            "ranking_depth",
            self.ranking_depth is None or self.ranking_depth >= 1,
            "must be null (whole roster) or >= 1",
        )
        self.check(
            "unranked_projects",
            self.unranked_projects in UNRANKED_POLICIES,
            "must be 'miss' or 'skip'",
        )
        self.check(
            "recall_at",
            all(k >= 1 for k in self.recall_at)
            and len(set(self.recall_at)) == len(self.recall_at),
            "must list distinct depths >= 1",
        )

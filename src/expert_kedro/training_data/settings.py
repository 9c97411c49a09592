"""The ``pairs``, ``augmentation`` and ``rerank_pairs`` parameter groups, typed.

The defaults below are the only ones in the code; ``conf/base/parameters_*.yml``
states the same values with the reasons for them (tests/test_parameter_settings.py
keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from expert_kedro.settings_base import ParameterSettings
from expert_kedro.training_data.targets import OUTPUT_FORMATS

# Splits the augmentation pipeline may add partial agendas to; test partial agendas
# are built by the evaluation (build_partial_test_projects), never trained on.
AUGMENTABLE_SPLITS = ("train", "validation")


@dataclass(frozen=True)
class SystemPrompts(ParameterSettings):
    """System prompt of the instruction pairs, one per ``pairs.output_format``.

    Attributes:
        profile: Asks for the expert's first line and profile layout.
        rationale: Asks for the expert's first line and why the expert fits.
    """

    GROUP = "pairs.system_prompts"

    profile: str = (
        "You are an expert-network research assistant. Read the client's agenda and "
        "recommend the single best-matching expert from the network. Reply with the "
        "expert's profile in this exact layout: first line \"Expert: <name> (ID "
        '<id>)", then Headline, Location, Industry, Skills, Bio and Work history '
        "lines."
    )
    rationale: str = (
        "You are an expert-network research assistant. Read the client's agenda and "
        "recommend the single best-matching expert from the network. Reply with a "
        'first line "Expert: <name> (ID <id>)", then one paragraph explaining why '
        "this expert fits the agenda."
    )


@dataclass(frozen=True)
class PairsSettings(ParameterSettings):
    """How a (project, expert) match becomes an instruction pair.

    Attributes:
        output_format: Target text: ``profile`` (the expert's first line and
            profile) or ``rationale`` (first line and why the expert fits).
        include_title: Show the project title in the input (new agendas at
            inference have none).
        rationale_max_answers: Expert answers a rationale quotes.
        system_prompts: System prompt per output format.
    """

    GROUP = "pairs"

    output_format: str = "profile"
    include_title: bool = False
    rationale_max_answers: int = 2
    system_prompts: SystemPrompts = field(default_factory=SystemPrompts)

    @property
    def system_prompt(self) -> str:
        """System prompt of ``output_format`` (the generative pairs' system turn)."""
        return getattr(self.system_prompts, self.output_format).strip()

    def validate(self) -> None:
        """Check the output format, its prompt and the answer count.

        Raises:
            ValueError: Naming the offending ``pairs.*`` parameter.
        """
        self.check(
            "output_format",
            self.output_format in OUTPUT_FORMATS,
            f"is not an output format: use one of {OUTPUT_FORMATS}",
        )
        if not self.system_prompt:
            raise ValueError(
                f"Parameter pairs.system_prompts.{self.output_format} is empty: each "
                "output format needs its system prompt."
            )
        self.check(
            "rationale_max_answers", self.rationale_max_answers >= 0, "must be >= 0"
        )


@dataclass(frozen=True)
class AugmentationSettings(ParameterSettings):
    """Partial agendas drawn from real agendas (training examples).

    Attributes:
        seed: Seed of the draws, combined with each project id.
        min_questions: Agendas shorter than this get no partial variant.
        partial_sizes: Questions per partial agenda.
        variants_per_agenda: Partial agendas drawn per project at most.
        splits: Splits that receive partial pairs (of :data:`AUGMENTABLE_SPLITS`).
        include_original: Keep the original pairs in ``augmented_*_pairs``.
    """

    GROUP = "augmentation"

    seed: int = 7
    min_questions: int = 4
    partial_sizes: tuple[int, ...] = (3, 4)
    variants_per_agenda: int = 2
    splits: tuple[str, ...] = ("train",)
    include_original: bool = True

    def validate(self) -> None:
        """Check the splits, sizes and counts.

        Raises:
            ValueError: Naming the offending ``augmentation.*`` parameter.
        """
        unknown = [s for s in self.splits if s not in AUGMENTABLE_SPLITS]
        if unknown:
            raise ValueError(
                f"Parameter augmentation.splits has {unknown}: only "
                f"{AUGMENTABLE_SPLITS} can be augmented here (evaluation builds test "
                "partial agendas itself with make_partial_agendas)."
            )
        self.check(
            "partial_sizes",
            bool(self.partial_sizes) and min(self.partial_sizes) >= 1,
            "must list sizes >= 1",
        )
        self.check("variants_per_agenda", self.variants_per_agenda >= 0, "must be >= 0")
        self.check("min_questions", self.min_questions >= 1, "must be >= 1")


@dataclass(frozen=True)
class RerankPairsSettings(ParameterSettings):
    """Negatives of the pointwise rerank examples.

    Attributes:
        hard_negatives: Non-acceptable experts of the hybrid retriever (fit on
            train only) per agenda: the best-ranked ones, or a draw from the
            ``negative_pool`` when that is set.
        random_negatives: Random roster experts per agenda.
        seed: Seed of the random negatives and of the pool draws (combined with
            the project id and the agenda length).
        negative_pool: None: the hard negatives are the best-ranked
            non-acceptable experts. A number ``K``: they are drawn at random
            (seeded) from the non-acceptable experts among the retriever's top
            ``K``, the candidate list the reranker faces at inference (set it to
            ``recommender.candidates``). Then each expert is a negative about as
            often as it is a wrong candidate at inference, so the yes-rate the
            model learns per expert (its name and profile identify it) matches
            inference instead of marking the experts the retriever ranks high for
            every agenda (the most active ones, often the right ones) as "no".
        cross_fit_folds: 0: a training agenda's candidates come from the saved
            retrieval index, which holds that very agenda in its answerer's
            document and so ranks the answerer far higher than at inference. ``K``
            (>= 2): each of ``K`` seeded groups of training projects is ranked by an
            index fit without it (``retrieval.cross_fit``), so the negatives come
            from a candidate list like the ones the reranker faces.
    """

    GROUP = "rerank_pairs"

    hard_negatives: int = 5
    random_negatives: int = 1
    seed: int = 13
    negative_pool: int | None = None
    cross_fit_folds: int = 0

    def validate(self) -> None:
        """Check the negative counts.

        Raises:
            ValueError: Naming the offending ``rerank_pairs.*`` parameter.
        """
        self.check("hard_negatives", self.hard_negatives >= 0, "must be >= 0")
        self.check("random_negatives", self.random_negatives >= 0, "must be >= 0")
        self.check(
            "negative_pool",
            self.negative_pool is None or self.negative_pool >= 1,
            "must be null or >= 1",
        )
        self.check(
            "cross_fit_folds",
            self.cross_fit_folds == 0 or self.cross_fit_folds >= 2,
            "must be 0 (off) or >= 2",
        )

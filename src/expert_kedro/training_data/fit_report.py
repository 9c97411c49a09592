"""What the length policy did: per prompt (:class:`FitReport`) and per run
(:class:`FittingTally`, the ``prompt_fitting`` block of the metrics datasets).

Shortening an agenda changes what the model reads, so every shortened prompt and
every case that could not be fitted at all is counted, named in the run's metrics
and summed up in one log line per run, never one line per case.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from expert_kedro.identifiers import as_id

logger = logging.getLogger(__name__)

PARTS = ("question", "history", "profile")
"""Parts of a user turn the policy may cut: agenda questions, the candidate's past
questions, profile lines."""
COUNTS = (
    "questions_shortened",
    "questions_dropped",
    "history_dropped",
    "profile_lines_shortened",
)
NAMED_CASES = 50
"""Case ids listed per kind in a summary (the counts are always complete)."""


@dataclass(frozen=True)
class FitReport:
    """What fitting did to one prompt.

    Attributes:
        original_tokens: Prompt tokens before fitting.
        prompt_tokens: Prompt tokens after fitting.
        fits: Whether the prompt is within the budget.
        questions_shortened: Agenda questions cut to their opening.
        questions_dropped: Agenda questions left out (from the end).
        history_dropped: Past questions of the candidate left out.
        profile_lines_shortened: Profile lines cut.
        part_tokens: Per part (:data:`PARTS`), body tokens before and after.
    """

    original_tokens: int
    prompt_tokens: int
    fits: bool = True
    questions_shortened: int = 0
    questions_dropped: int = 0
    history_dropped: int = 0
    profile_lines_shortened: int = 0
    part_tokens: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def shortened(self) -> bool:
        """Whether the prompt was changed to fit (or could not be fitted)."""
        return self.prompt_tokens != self.original_tokens or not self.fits


@dataclass
class FittingTally:
    """Counts of one run's fitted prompts and fallback cases.

    Args:
        policy: The policy's name.
        budget: The prompt budget (``recommender.max_prompt_tokens``).
    """

    policy: str
    budget: int
    prompts: int = 0
    prompts_shortened: int = 0
    prompts_unfit: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    # Per shortened case: the most agenda questions one of its prompts cut/left out.
    shortened_cases: dict[str, tuple[int, int]] = field(default_factory=dict)
    fallback_cases: dict[str, None] = field(default_factory=dict)

    def add(self, report: FitReport, case: Any = None) -> None:
        """Count one prompt (and name its case when it was shortened)."""
        self.prompts += 1
        if not report.shortened:
            return
        self.prompts_shortened += 1
        self.prompts_unfit += int(not report.fits)
        for name in COUNTS:
            self.counts[name] += getattr(report, name)
        if case is not None:
            cut, out = self.shortened_cases.get(as_id(case), (0, 0))
            self.shortened_cases[as_id(case)] = (
                max(cut, report.questions_shortened),
                max(out, report.questions_dropped),
            )

    def fallback(self, case: Any) -> None:
        """Count a case ranked without the LLM because a prompt could not fit."""
        self.fallback_cases[as_id(case) if case is not None else "?"] = None

    def reset(self) -> None:
        """Start counting a new run."""
        self.prompts = self.prompts_shortened = self.prompts_unfit = 0
        self.counts = dict.fromkeys(COUNTS, 0)
        self.shortened_cases, self.fallback_cases = {}, {}

    def summary(self) -> dict[str, Any]:
        """The ``prompt_fitting`` block of a metrics dataset."""
        return {
            "policy": self.policy,
            "max_prompt_tokens": self.budget,
            "prompts": self.prompts,
            "prompts_shortened": self.prompts_shortened,
            "prompts_unfit": self.prompts_unfit,
            **self.counts,
            "cases_shortened": len(self.shortened_cases),
            # Per agenda (not per candidate prompt), summed over the cases.
            "agenda_questions_shortened": sum(
                cut for cut, _ in self.shortened_cases.values()
            ),
            "agenda_questions_dropped": sum(
                out for _, out in self.shortened_cases.values()
            ),
            "fallback_cases": len(self.fallback_cases),
            "shortened_case_ids": list(self.shortened_cases)[:NAMED_CASES],
            "fallback_case_ids": list(self.fallback_cases)[:NAMED_CASES],
        }

    def log(
        self, what: str, fallback: str = "ranked by the retriever alone"
    ) -> dict[str, Any]:
        """Log one summary line for the run (a warning when a case fell back)."""
        summary = self.summary()
        level = logging.WARNING if summary["fallback_cases"] else logging.INFO
        logger.log(
            level,
            "%s: %d of %d prompts shortened to fit %d tokens (policy %s; %d cases; "
            "questions shortened %d, dropped %d; past questions dropped %d; profile "
            "lines shortened %d); %d cases could not fit and were %s.",
            what,
            summary["prompts_shortened"],
            summary["prompts"],
            self.budget,
            self.policy,
            summary["cases_shortened"],
            summary["questions_shortened"],
            summary["questions_dropped"],
            summary["history_dropped"],
            summary["profile_lines_shortened"],
            summary["fallback_cases"],
            fallback,
        )
        return summary

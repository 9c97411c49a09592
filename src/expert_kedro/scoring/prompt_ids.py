"""Prompt token ids of a scorer: encoded once per repeated line, fitted to the budget.

:class:`PromptIds` is the prompt half of
:class:`~expert_kedro.scoring.scorer.LLMScorer`. Every prompt goes through
:mod:`expert_kedro.modeling.prompts` (the single prompt format of training and
inference), reusing the ids of lines repeated across prompts
(:class:`~expert_kedro.scoring.prompt_cache.PromptEncoder`), and is fitted to
``max_prompt_tokens`` by the length policy of training
(:mod:`expert_kedro.training_data.prompt_fitting`). A prompt that cannot fit even
after the policy is reported as None, or raises :class:`AgendaTooLongError` where
one prompt is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from expert_kedro.modeling.prompts import encode_prompt
from expert_kedro.scoring.prompt_cache import PromptEncoder
from expert_kedro.training_data.fit_report import FittingTally
from expert_kedro.training_data.prompt_fitting import PromptFitter


class AgendaTooLongError(ValueError):
    """A prompt does not fit ``max_prompt_tokens`` even after the length policy.

    Only a budget below the system prompt and the layout's headers leaves a prompt
    unfit; rankers catch it per case and fall back (counted), so it never ends a
    batch.
    """


class PromptIds:
    """Prompt encoding and fitting of a scorer (a mixin of ``LLMScorer``).

    Reads the scorer's ``tokenizer``, ``prompt_style``, ``max_prompt_tokens`` and
    ``prompt_fitting`` at every call (they may change after construction), counts
    fitted prompts in ``fitting`` and keeps its fitter and encoder in ``_fitter``
    and ``_prompt_encoder``, rebuilt when the tokenizer or layout changes.
    """

    tokenizer: Any
    prompt_style: str
    max_prompt_tokens: int
    prompt_fitting: str
    fitting: FittingTally
    _fitter: PromptFitter | None
    _prompt_encoder: PromptEncoder | None

    def encode(self, system: str, user: str, *, case: Any = None) -> list[int]:
        """Prompt token ids, fitted to ``max_prompt_tokens`` (counted).

        Args:
            system: System prompt.
            user: User turn.
            case: Identifier counted and named in the error message.

        Raises:
            AgendaTooLongError: When the prompt cannot fit even after the policy.
        """
        ids = encode_prompt(self.tokenizer, system, user, self.prompt_style)
        fitted = self._fit(system, user, ids, case)
        if fitted is None:
            where = f" for case {case!r}" if case is not None else ""
            raise AgendaTooLongError(
                f"The prompt{where} does not fit recommender.max_prompt_tokens="
                f"{self.max_prompt_tokens} even with every question and profile line "
                "shortened: raise recommender.max_prompt_tokens."
            )
        return fitted

    def fit_many(
        self, system: str, users: Sequence[str], cases: Sequence[Any]
    ) -> list[list[int] | None]:
        """Prompt ids of many user turns, each fitted (None: cannot fit)."""
        return [
            self._fit(system, user, ids, case)
            for user, ids, case in zip(
                users, self.encode_many(system, users), cases, strict=True
            )
        ]

    def _fit(
        self, system: str, user: str, ids: list[int], case: Any
    ) -> list[int] | None:
        self.fitting.budget = self.max_prompt_tokens
        fitter = self._fitter
        if (
            fitter is None
            or fitter.tokenizer is not self.tokenizer
            or fitter.style != self.prompt_style
            or fitter.policy != self.prompt_fitting
        ):
            fitter = self._fitter = PromptFitter(
                self.tokenizer, self.prompt_fitting, self.prompt_style
            )
        _, fitted, report = fitter.fit(system, user, self.max_prompt_tokens, ids)
        self.fitting.add(report, case)
        return fitted if report.fits else None

    def encode_many(self, system: str, users: Sequence[str]) -> list[list[int]]:
        """Prompt token ids of many user turns (no length check).

        The same ids as :func:`expert_kedro.modeling.prompts.encode_prompts`; the
        ids of lines repeated across prompts (system prompt, agenda, candidate
        profiles, past questions) are reused (:class:`PromptEncoder`).
        """
        encoder = self._prompt_encoder
        if (
            encoder is None
            or encoder.tokenizer is not self.tokenizer
            or encoder.style != self.prompt_style
        ):
            # Built on first use and rebuilt if the tokenizer or layout changes:
            # cached ids belong to one tokenizer and one layout.
            encoder = self._prompt_encoder = PromptEncoder(
                self.tokenizer, self.prompt_style
            )
        return encoder.encode(system, users)

"""``LLMScorer``: a loaded model + tokenizer + the training prompt layout.

Every prompt goes through :mod:`expert_kedro.modeling.prompts` (the single prompt
format of training and inference) and is fitted to ``max_prompt_tokens`` by the
length policy of training (:mod:`expert_kedro.training_data.prompt_fitting`) before
any forward pass; :attr:`LLMScorer.fitting` counts what was shortened. A prompt that
cannot fit even after the policy is never scored: rerank scores of its agenda are
NaN (the ranker falls back to the retriever) and single-prompt calls raise
:class:`~expert_kedro.scoring.prompt_ids.AgendaTooLongError`. Encoding and fitting
are in :mod:`expert_kedro.scoring.prompt_ids`; this module scores the prompts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from expert_kedro.modeling.prompts import encode_text
from expert_kedro.scoring.llm_scoring import (
    continuation_logprobs,
    next_token_logits,
    yes_no_ids,
)
from expert_kedro.scoring.packed_scoring import packed_next_token_logits
from expert_kedro.scoring.prompt_cache import PromptEncoder
from expert_kedro.scoring.prompt_ids import PromptIds
from expert_kedro.training_data.fit_report import FittingTally
from expert_kedro.training_data.prompt_fitting import DEFAULT_POLICY, PromptFitter

logger = logging.getLogger(__name__)


@dataclass
class LLMScorer(PromptIds):
    """Scores prompts with one loaded causal LM (plain or with a LoRA adapter).

    Attributes:
        model: The model, in eval mode.
        tokenizer: Its tokenizer (the one saved with the adapter).
        prompt_style: Prompt layout used in training (``auto``/``chat_template``/
            ``fallback``).
        max_prompt_tokens: Prompt budget; longer prompts are fitted to it by the
            length policy (counted in :attr:`fitting`).
        batch_size: Candidates per forward pass.
        share_prefix: Compute the agenda prompt shared by a rerank's candidates
            once (see ``llm_scoring.next_token_logits``).
        packing: Score rerank prompts in packed rows, each agenda's prompt once
            and no padding (see :mod:`expert_kedro.scoring.packed_scoring`);
            overrides ``share_prefix``.
        prompt_fitting: Length policy (a name of ``prompt_fitting.POLICIES``, the
            one the adapter was trained with).
        fitting: Counts of fitted prompts since the last ``fitting.reset()``.
    """

    model: Any
    tokenizer: Any
    prompt_style: str = "auto"
    max_prompt_tokens: int = 2048
    batch_size: int = 16
    share_prefix: bool = True
    packing: bool = False
    prompt_fitting: str = DEFAULT_POLICY
    fitting: FittingTally = field(init=False, repr=False, compare=False)
    _fitter: PromptFitter | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _prompt_encoder: PromptEncoder | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.fitting = FittingTally(self.prompt_fitting, self.max_prompt_tokens)

    @property
    def pad_id(self) -> int:
        """Padding id (EOS when the tokenizer has no pad token)."""
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    def yes_no_scores(
        self, system: str, users: Sequence[str], *, case: Any = None
    ) -> np.ndarray:
        """``logit(yes) - logit(no)`` on the first assistant token of each prompt.

        Args:
            system: Rerank system prompt.
            users: One user turn per candidate (same agenda first).
            case: Identifier for error messages.

        Returns:
            ``[len(users)]`` float scores, higher = more likely a match.
        """
        return self.yes_no_scores_grouped(system, [users], [case])[0]

    def yes_no_scores_grouped(
        self,
        system: str,
        groups: Sequence[Sequence[str]],
        cases: Sequence[Any],
    ) -> list[np.ndarray]:
        """:meth:`yes_no_scores` for several agendas' candidates in shared batches.

        Forward passes are filled with the candidates of many agendas at once
        (``batch_size`` prompts each) instead of one agenda's ``K``.

        Args:
            system: Rerank system prompt.
            groups: Per agenda, one user turn per candidate.
            cases: Per agenda, an identifier for error messages.

        Returns:
            Per agenda, ``[len(group)]`` float scores; all NaN for an agenda one of
            whose prompts cannot fit even after the length policy (not scored).
        """
        users = [user for group in groups for user in group]
        owners = [c for group, c in zip(groups, cases, strict=True) for _ in group]
        fitted = self.fit_many(system, users, owners)
        bounds = np.cumsum([0] + [len(group) for group in groups])
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
        fits = [all(ids is not None for ids in fitted[a:b]) for a, b in spans]
        kept = [fitted[a:b] for (a, b), ok in zip(spans, fits, strict=True) if ok]
        scores = iter(self._yes_no(kept) if kept else [])
        return [
            next(scores) if ok else np.full(b - a, np.nan)
            for (a, b), ok in zip(spans, fits, strict=True)
        ]

    def _yes_no(self, groups: list[list[list[int]]]) -> list[np.ndarray]:
        """``logit(yes) - logit(no)`` of fitted prompt ids, per group."""
        sequences = [ids for group in groups for ids in group]
        bounds = np.cumsum([0] + [len(group) for group in groups])
        spans = list(zip(bounds[:-1], bounds[1:], strict=True))
        yes, no = yes_no_ids(self.tokenizer)
        if self.packing:
            logits = packed_next_token_logits(
                self.model,
                [sequences[a:b] for a, b in spans],
                [yes, no],
                pad_id=self.pad_id,
                batch_size=self.batch_size,
            )
        else:
            logits = next_token_logits(
                self.model,
                sequences,
                [yes, no],
                pad_id=self.pad_id,
                batch_size=self.batch_size,
                share_prefix=self.share_prefix,
            )
        scores = (logits[:, 0] - logits[:, 1]).astype(float)
        return [scores[a:b] for a, b in spans]

    def continuation_scores(
        self,
        system: str,
        user: str,
        continuations: Sequence[Sequence[int]],
        *,
        case: Any = None,
    ) -> np.ndarray:
        """Log-probability of each tokenized continuation after one prompt."""
        prompt = self.encode(system, user, case=case)
        return continuation_logprobs(
            self.model,
            prompt,
            continuations,
            pad_id=self.pad_id,
            batch_size=max(self.batch_size, 32),
        )

    def tokenize_continuation(self, text: str) -> list[int]:
        """Token ids of an assistant-side text, as in training.

        Special-token strings in ``text`` (an expert name from the roster holding
        ``<|im_end|>``) are plain text, as in the training completions.
        """
        return encode_text(self.tokenizer, text)

    @torch.inference_mode()
    def generate(
        self,
        system: str,
        user: str,
        *,
        prefill: str = "",
        max_new_tokens: int = 128,
        case: Any = None,
    ) -> str:
        """Greedy generation after the prompt (and an optional forced answer start).

        Args:
            system: System prompt.
            user: User turn.
            prefill: Text forced at the start of the answer (e.g. the chosen
                expert's ``Expert: ... (ID ...)`` line), returned as part of the text.
            max_new_tokens: Generation budget.
            case: Identifier for error messages.

        Returns:
            ``prefill`` + the generated text, special tokens removed.
        """
        prompt = self.encode(system, user, case=case) + (
            self.tokenize_continuation(prefill) if prefill else []
        )
        device = next(self.model.parameters()).device
        ids = torch.tensor([prompt], dtype=torch.long, device=device)
        out = self.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=self.pad_id,
        )
        text = self.tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True)
        return (prefill + text).strip()

"""The length policy: fit a prompt's user turn to a token budget, never abort.

A real agenda can be far longer than the model's context (a Stack Exchange question
body runs to tens of thousands of characters; a client may paste hundreds of
questions). Refusing it stops a whole evaluation batch, and cutting the rendered
prompt on the right would cut away the candidate being judged. Instead the user turn
(laid out by :func:`~expert_kedro.training_data.formatting.format_agenda` and
:func:`~expert_kedro.training_data.rerank_pairs.format_candidate`) is read back into
its parts and reduced, one kind of part at a time, until the prompt fits:

1. ``drop_history``: the candidate's past questions, least relevant (last) first:
   they only illustrate the expert, whose profile says the same more reliably;
2. ``shorten_questions``: the longest agenda questions are cut to their opening
   tokens, each followed by a visible ``…``; short questions stay whole (the cut
   length is the largest that fits, shared by every cut question);
3. ``drop_questions``: the last agenda questions (the project title and the first
   question, which states the topic, are always kept);
4. ``shorten_profile``: the longest profile lines (bio, work history), the same way;
5. ``squeeze``: as a last resort the same cuts down to the ellipsis alone.

The default policy, ``shorten_questions``, runs the steps in that order. The
alternatives (``drop_questions`` drops whole questions before shortening any;
``keep_history`` drops the past questions last) were measured beside it with the
real tokenizer on the shipped data (``benchmarks/length_policy.py``): shortening
keeps an opening of every question, and with it every topic and region the agenda
names, where dropping loses whole questions; and keeping the past questions instead
costs agenda text, which is what the candidate is judged against.

Training tokenization, evaluation, inference and the CLI all fit prompts through
:class:`PromptFitter`, so the model is scored on prompts shortened exactly as its
training prompts were. Every fit returns a :class:`FitReport`;
:class:`FittingTally` sums them per run for the logs and the metrics datasets. A
prompt that cannot fit even after ``squeeze`` (a budget below the system prompt and
the layout's headers) is reported with ``fits=False``: its caller falls back, counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from expert_kedro.modeling.prompts import PromptStyle, encode_prompt
from expert_kedro.modeling.special_tokens import encode_plain
from expert_kedro.training_data.fit_report import PARTS, FitReport
from expert_kedro.training_data.prompt_parts import (
    Unit,
    apply_step,
    split_user_turn,
)

logger = logging.getLogger(__name__)

ELLIPSIS = "…"
"""Marks the place where a question or profile line was cut."""
STEPS = (
    "drop_history",
    "shorten_questions",
    "drop_questions",
    "shorten_profile",
    "squeeze",
)
POLICIES: dict[str, tuple[str, ...]] = {
    "shorten_questions": STEPS,
    "drop_questions": (
        "drop_history",
        "drop_questions",
        "shorten_questions",
        "shorten_profile",
        "squeeze",
    ),
    "keep_history": (
        "shorten_questions",
        "drop_questions",
        "shorten_profile",
        "drop_history",
        "squeeze",
    ),
}
DEFAULT_POLICY = "shorten_questions"
_MAX_ROUNDS = 6


class PromptFitter:
    """Fits prompts of one tokenizer and prompt layout with one policy.

    Args:
        tokenizer: The model's tokenizer (token counts are exact, of the rendered
            prompt).
        policy: A name of :data:`POLICIES`.
        style: Prompt layout (see :func:`expert_kedro.modeling.prompts.
            uses_chat_template`).

    Raises:
        ValueError: For an unknown policy.
    """

    def __init__(
        self, tokenizer: Any, policy: str = DEFAULT_POLICY, style: PromptStyle = "auto"
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(
                f"Unknown prompt fitting policy {policy!r}: use one of "
                f"{sorted(POLICIES)} (recommender.prompt_fitting)."
            )
        self.tokenizer, self.policy, self.style = tokenizer, policy, style
        self._marker = len(encode_plain(tokenizer, [" " + ELLIPSIS])[0])

    def encode(self, system: str, user: str) -> list[int]:
        """Prompt token ids of the layout (no fitting)."""
        return encode_prompt(self.tokenizer, system, user, self.style)

    def fit(
        self,
        system: str,
        user: str,
        budget: int,
        ids: Sequence[int] | None = None,
    ) -> tuple[str, list[int], FitReport]:
        """The user turn fitted to ``budget`` prompt tokens, its ids and a report.

        Args:
            system: System prompt (kept whole).
            user: User turn in the project's layout (any other text is kept as is,
                and only fits when it is short enough).
            budget: Most prompt tokens allowed.
            ids: Prompt ids of ``user`` when already encoded.

        Returns:
            ``(user, ids, report)``: unchanged when the prompt fits already.
        """
        ids = list(ids) if ids is not None else self.encode(system, user)
        if len(ids) <= budget:
            return user, ids, FitReport(len(ids), len(ids))
        units = split_user_turn(user)
        cuttable = [u for u in units if u.kind != "fixed"]
        bodies = encode_plain(self.tokenizer, [u.body for u in cuttable])
        heads = encode_plain(self.tokenizer, [u.prefix for u in cuttable])
        for unit, body_ids, head_ids in zip(cuttable, bodies, heads, strict=True):
            unit.ids, unit.head = body_ids, len(head_ids)
        extra, text, new_ids, excess = 0, user, ids, 1
        for _ in range(_MAX_ROUNDS):
            for unit in units:
                unit.keep, unit.dropped = None, False
            excess = len(ids) - budget + extra
            for step in POLICIES[self.policy]:
                if excess <= 0:
                    break
                excess = apply_step(step, units, excess, self._marker)
            text = self._render(units)
            new_ids = self.encode(system, text)
            if len(new_ids) <= budget or excess > 0:
                break
            # Token counts of parts are estimates (merges across cuts): ask the
            # next round to remove the overflow beyond what this round removed.
            extra += len(new_ids) - budget - excess
        return text, new_ids, self._report(units, len(ids), new_ids, budget)

    def _render(self, units: list[Unit]) -> str:
        lines = []
        for unit in units:
            if unit.dropped:
                continue
            body = unit.body
            if unit.keep is not None:
                head = self.tokenizer.decode(
                    unit.ids[: unit.keep], clean_up_tokenization_spaces=False
                ).rstrip("\ufffd")
                body = f"{head.rstrip()} {ELLIPSIS}" if head.strip() else ELLIPSIS
            lines.append(unit.prefix + body)
        return "\n".join(lines)

    @staticmethod
    def _report(
        units: list[Unit], original: int, ids: list[int], budget: int
    ) -> FitReport:
        def count(kind: str, test: Callable[[Unit], bool]) -> int:
            return sum(1 for u in units if u.kind == kind and test(u))

        parts = {
            kind: (
                sum(len(u.ids) for u in units if u.kind == kind),
                sum(
                    0 if u.dropped else (u.keep if u.keep is not None else len(u.ids))
                    for u in units
                    if u.kind == kind
                ),
            )
            for kind in PARTS
        }
        return FitReport(
            original_tokens=original,
            prompt_tokens=len(ids),
            fits=len(ids) <= budget,
            questions_shortened=count(
                "question", lambda u: not u.dropped and u.keep is not None
            ),
            questions_dropped=count("question", lambda u: u.dropped),
            history_dropped=count("history", lambda u: u.dropped),
            profile_lines_shortened=count(
                "profile", lambda u: not u.dropped and u.keep is not None
            ),
            part_tokens=parts,
        )

"""A trained cross-encoder in the LLM scorer's place inside the rerank ranker.

:class:`~expert_kedro.recommender.rerank.RerankRanker` asks its scorer for one score
per candidate prompt (``yes_no_scores_grouped``) and counts shortened prompts in
``scorer.fitting``. :class:`CrossEncoderScorer` answers the same calls with the
cross-encoder's logit of each (agenda, candidate) pair, so the cross-encoder system
is retrieved, fused, tuned on validation and ranked by exactly the code that ranks
the LLM systems. Pairs over ``max_length`` tokens are truncated (longest side first)
and counted as shortened prompts; no agenda ever falls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from expert_kedro.cross_encoder.texts import split_many
from expert_kedro.cross_encoder.training import TrainedCrossEncoder
from expert_kedro.training_data.fit_report import FitReport, FittingTally

POLICY = "truncate_longest_first"


class CrossEncoderScorer:
    """Scores rerank prompts with a cross-encoder (the LLM scorer's interface).

    Args:
        trained: The trained cross-encoder.
        batch_size: Pairs per forward pass.
    """

    def __init__(self, trained: TrainedCrossEncoder, *, batch_size: int = 64) -> None:
        self.model = trained.model
        self.max_length = trained.max_length
        self.batch_size = batch_size
        self.fitting = FittingTally(POLICY, self.max_length)

    def _count_truncated(self, pairs: list[tuple[str, str]], owners: list[Any]) -> None:
        tokenizer = self.model.tokenizer
        encoded = tokenizer(
            [query for query, _ in pairs], [doc for _, doc in pairs], truncation=False
        )
        for ids, case in zip(encoded["input_ids"], owners, strict=True):
            report = FitReport(len(ids), min(len(ids), self.max_length))
            self.fitting.add(report, case)

    def pair_scores(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """The head's logit of each ``(query, document)`` pair (no sigmoid)."""
        if not pairs:
            return np.zeros(0)
        import torch  # noqa: PLC0415 - slow import

        scores = self.model.predict(
            list(pairs),
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(scores, dtype=float).reshape(len(pairs))

    def yes_no_scores_grouped(
        self,
        system: str,
        groups: Sequence[Sequence[str]],
        cases: Sequence[Any],
    ) -> list[np.ndarray]:
        """One logit per candidate prompt, per agenda (the LLM scorer's call).

        Args:
            system: The LLM's system prompt; not read (a cross-encoder has none).
            groups: Per agenda, one rerank user turn per candidate.
            cases: Per agenda, an identifier (named in the fitting counts).

        Returns:
            Per agenda, ``[len(group)]`` float scores, higher = better match.
        """
        del system
        users = [user for group in groups for user in group]
        owners = [c for group, c in zip(groups, cases, strict=True) for _ in group]
        pairs = split_many(users)
        self._count_truncated(pairs, owners)
        scores = self.pair_scores(pairs)
        bounds = np.cumsum([0] + [len(group) for group in groups])
        return [scores[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

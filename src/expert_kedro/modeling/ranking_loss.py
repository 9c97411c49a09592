"""The listwise ranking loss over each query's candidates.

A rerank query is one agenda with the retriever's candidates for it: about one
"yes" (the experts of the project) and several "no". The pointwise SFT loss treats
each (agenda, candidate) example alone, and on hard negatives it can fall by
learning the base rate ("no" most of the time) while barely telling the
candidates apart. The localized contrastive estimation loss of LLM rerankers
(Gao et al. 2021; RankLLaMA) instead lets the candidates of one query compete: each
candidate's score ``s`` is what inference ranks by, ``logit(yes) - logit(no)`` at
the position that predicts the answer's first token
(:meth:`~expert_kedro.scoring.scorer.LLMScorer.yes_no_scores`), and the positives
should win a softmax over the query's candidates:

``loss(query) = -log(sum_{positives} exp(s / T) / sum_{candidates} exp(s / T))``

averaged over the queries of a batch that have at least one positive and one
negative (a query without both has nothing to rank). Training adds it, weighted,
to the SFT loss (:mod:`expert_kedro.modeling.listwise_trainer`).
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from expert_kedro.scoring.output_head import head_logits

logger = logging.getLogger(__name__)


def _group_logsumexp(
    values: torch.Tensor,
    groups: torch.Tensor,
    include: torch.Tensor,
    keep: torch.Tensor,
) -> torch.Tensor:
    """Per group, ``log(sum(exp(values)))`` over the members with ``include``.

    Shifted by each group's maximum, so scores far apart neither overflow nor
    lose the smaller terms. Groups without ``keep`` get 0 (and no gradient): a
    group with no included member would otherwise be ``log(0)``, whose gradient
    is NaN even where the result is not used.
    """
    size = keep.numel()
    masked = values.masked_fill(~include, float("-inf"))
    peak = values.new_full((size,), float("-inf")).scatter_reduce(
        0, groups, masked, reduce="amax"
    )
    shift = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak)).detach()
    sums = values.new_zeros(size).index_add(0, groups, (masked - shift[groups]).exp())
    sums = torch.where(keep, sums, torch.ones_like(sums))
    return torch.where(keep, sums.log() + shift, torch.zeros_like(sums))


def listwise_loss(
    scores: torch.Tensor,
    query: torch.Tensor,
    positive: torch.Tensor,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, int]:
    """Softmax cross-entropy of each query's positives among its candidates.

    Args:
        scores: ``[n]`` candidate scores (``logit(yes) - logit(no)``).
        query: ``[n]`` query index of each candidate, ``0 .. q-1``.
        positive: ``[n]`` bool: the candidate is a right expert ("yes").
        temperature: Scores are divided by it.

    Returns:
        ``(loss, queries)``: the mean loss over the queries with at least one
        positive and one negative (a zero connected to ``scores`` when there is
        none), and how many such queries there were.
    """
    logits = scores.float() / temperature
    positive = positive.bool()
    size = int(query.max()) + 1 if query.numel() else 0
    counts = torch.bincount(query, minlength=size)
    positives = torch.bincount(query, weights=positive.float(), minlength=size)
    ranked = (positives > 0) & (positives < counts)
    number = int(ranked.sum())
    if number == 0:
        return logits.sum() * 0.0, 0
    everyone = torch.ones_like(positive)
    denominator = _group_logsumexp(logits, query, everyone, ranked)
    numerator = _group_logsumexp(logits, query, positive, ranked)
    return (denominator - numerator).sum() / number, number


def answer_scores(
    hidden: torch.Tensor, head: Any, positions: torch.Tensor, yes_no: tuple[int, int]
) -> torch.Tensor:
    """``logit(yes) - logit(no)`` predicted at ``positions`` of a batch.

    Args:
        hidden: ``[rows, length, width]`` last hidden states of the backbone.
        head: The model's output embedding (LM head); its two rows are applied in
            float32, as inference scores
            (:func:`~expert_kedro.scoring.output_head.head_logits`).
        positions: ``[n]`` flat indices into ``rows * length``: the positions whose
            output predicts each example's answer token.
        yes_no: The ``(yes, no)`` token ids of
            :func:`~expert_kedro.scoring.llm_scoring.yes_no_ids`.

    Returns:
        ``[n]`` scores, float32.
    """
    states = hidden.reshape(-1, hidden.shape[-1])[positions]
    logits = head_logits(states, head, yes_no)
    return logits[:, 0] - logits[:, 1]

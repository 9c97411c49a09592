"""The cross-encoder's (query, document) texts: the LLM's user turn, cut in two.

A rerank user turn (:func:`~expert_kedro.training_data.rerank_prompt.
format_rerank_input`) is the numbered agenda, a blank line, then the candidate block
(profile, region lines, past questions). The cross-encoder reads the same two parts
as a sentence pair, without the system prompt and the chat template: the agenda is
the query, the candidate block the document. Training reads them from the stored
``input`` column of ``rerank_train_pairs``, scoring from the ranker's
``candidate_input``, so both see exactly what the LLM sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from expert_kedro.training_data.rerank_pairs import CANDIDATE_HEADER, YES

_SEPARATOR = f"\n\n{CANDIDATE_HEADER}\n"


def split_rerank_input(text: str) -> tuple[str, str]:
    """``(agenda, candidate)`` halves of one rerank user turn.

    Raises:
        ValueError: If the text has no candidate block.
    """
    agenda, found, candidate = text.partition(_SEPARATOR)
    if not found:
        raise ValueError(
            f"Not a rerank user turn (no {CANDIDATE_HEADER!r} block): {text[:80]!r}"
        )
    return agenda, candidate


def split_many(texts: Sequence[str]) -> list[tuple[str, str]]:
    """:func:`split_rerank_input` of every text."""
    return [split_rerank_input(text) for text in texts]


def training_table(
    pairs: pd.DataFrame, max_pairs: int | None, seed: int
) -> pd.DataFrame:
    """``query``, ``document``, ``label`` (1.0 for ``yes``) of the rerank pairs.

    Args:
        pairs: ``rerank_train_pairs`` (``input`` and ``output`` columns).
        max_pairs: Keep a seeded sample of this many rows (None: all).
        seed: Seed of the sample.

    Raises:
        ValueError: If there are no pairs, or an answer is neither yes nor no.
    """
    if pairs.empty:
        raise ValueError("No rerank pairs to train the cross-encoder on.")
    answers = set(pairs["output"].str.strip().str.lower())
    if not answers <= {"yes", "no"}:
        raise ValueError(f"Rerank answers must be yes/no, got {sorted(answers)}.")
    if max_pairs is not None and max_pairs < len(pairs):
        pairs = pairs.sample(n=max_pairs, random_state=seed)
    halves = split_many(pairs["input"].tolist())
    return pd.DataFrame(
        {
            "query": [agenda for agenda, _ in halves],
            "document": [candidate for _, candidate in halves],
            "label": (pairs["output"].str.strip().str.lower() == YES)
            .astype(float)
            .tolist(),
        }
    )

"""Recall@K: how much of a project's acceptable experts a depth-K candidate list holds.

A reranker only reorders the candidates it is given, so the candidate stage bounds
it: an acceptable expert the retriever leaves out of its top K can never be
recommended. ``recall@K`` is the share of the project's acceptable experts found in
the top ``K`` of a ranking (for a project with one acceptable expert, whether it is
there), reported for several depths beside the ranking metrics so the reranker's
depth ``K`` can be chosen by measurement (``evaluation.recall_at``).

The values go through the same per-project table and project bootstrap as
``metrics.METRIC_NAMES``; ``expected_random_recall`` is the exact expectation of a
uniformly random ranking, like ``metrics.expected_random_metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from expert_kedro.evaluation.metrics import check_aligned


def recall_name(k: int) -> str:
    """Report key of recall at depth ``k``, e.g. ``recall@20``."""
    return f"recall@{int(k)}"


def recall_at_k(ranked: Sequence[str], acceptable: Iterable[str], k: int) -> float:
    """Share of the acceptable experts among the top ``k`` of a ranking.

    Args:
        ranked: Expert ids, best first (a list shorter than ``k`` counts as is).
        acceptable: Expert ids accepted as correct for the project.
        k: Depth of the candidate list.

    Returns:
        ``|acceptable ∩ top k| / |acceptable|``; 0.0 when nothing is acceptable.
    """
    relevant = set(acceptable)
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def recall_metrics(
    ranked_lists: Sequence[Sequence[str]],
    acceptable_sets: Sequence[Iterable[str]],
    depths: Sequence[int],
) -> pd.DataFrame:
    """Recall at every depth of every project, one row per project.

    Args:
        ranked_lists: One ranking (expert ids, best first) per project.
        acceptable_sets: The acceptable expert ids of each project, same order.
        depths: The ``K`` values (``evaluation.recall_at``).

    Returns:
        DataFrame with one ``recall@K`` column per depth, in the given order.

    Raises:
        ValueError: If the two sequences differ in length.
    """
    check_aligned(ranked_lists, acceptable_sets)
    rows = [
        {recall_name(k): recall_at_k(ranked, set(acceptable), k) for k in depths}
        for ranked, acceptable in zip(ranked_lists, acceptable_sets, strict=True)
    ]
    return pd.DataFrame(rows, columns=[recall_name(k) for k in depths])


def expected_random_recall(n_experts: int, depths: Sequence[int]) -> dict[str, float]:
    """Exact expected recall@K of a uniformly random ranking of the roster.

    Each acceptable expert lands in the top ``K`` with probability ``min(K, N) / N``
    whatever the others do, so the expected share is that too.

    Args:
        n_experts: Roster size ``N`` (>= 1).
        depths: The ``K`` values.

    Returns:
        ``{recall@K: min(K, N) / N}``.

    Raises:
        ValueError: If the roster is empty.
    """
    if n_experts < 1:
        raise ValueError(f"expected_random_recall needs a roster, got {n_experts}.")
    return {recall_name(k): min(int(k), n_experts) / n_experts for k in depths}


def depth_of(metric: str) -> int | None:
    """``K`` of a ``recall@K`` key, None for any other metric (report ordering)."""
    prefix = "recall@"
    if metric.startswith(prefix) and metric[len(prefix) :].isdigit():
        return int(metric[len(prefix) :])
    return None

"""Ranking metrics for expert recommendation, with project-level bootstrap CIs.

A project may have several acceptable experts (a project can match two experts). A
recommendation is a *hit* when any acceptable expert appears; reciprocal
rank uses the first acceptable expert; nDCG uses binary relevance, so the ideal
ranking puts every acceptable expert on top.

Reciprocal rank is computed over the ranked list a system returned: a system that only
returns its top 5 gets 0 for a project whose acceptable experts are all beyond rank 5
(MRR at the list depth). The retrieval baselines rank the whole roster, so their MRR is
exact.

Confidence intervals are percentile bootstrap intervals that resample *projects* with
replacement. The resampling indices depend only on the seed and the number of projects,
so every system evaluated on the same project set sees the same resamples, which keeps
their intervals comparable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

#: Metric names, in report order.
METRIC_NAMES: tuple[str, ...] = ("hit@1", "hit@5", "mrr", "ndcg@5")


def _first_hit_rank(ranked: Sequence[str], acceptable: set[str]) -> int | None:
    """1-based rank of the first acceptable expert in ``ranked``, or None."""
    for position, expert_id in enumerate(ranked, start=1):
        if expert_id in acceptable:
            return position
    return None


def hit_at_k(ranked: Sequence[str], acceptable: Iterable[str], k: int) -> float:
    """Whether any acceptable expert is in the top ``k`` of the ranking.

    Args:
        ranked: Expert ids, best first.
        acceptable: Expert ids accepted as correct for the project.
        k: Cut-off (number of recommendations the client would see).

    Returns:
        1.0 on a hit, 0.0 otherwise.
    """
    rank = _first_hit_rank(ranked[:k], set(acceptable))
    return 0.0 if rank is None else 1.0


def reciprocal_rank(ranked: Sequence[str], acceptable: Iterable[str]) -> float:
    """Reciprocal of the rank of the first acceptable expert (0 if none is ranked).

    Args:
        ranked: Expert ids, best first.
        acceptable: Expert ids accepted as correct for the project.

    Returns:
        ``1 / rank`` of the first acceptable expert, 0.0 when none appears.
    """
    rank = _first_hit_rank(ranked, set(acceptable))
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at_k(ranked: Sequence[str], acceptable: Iterable[str], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with binary relevance.

    Args:
        ranked: Expert ids, best first.
        acceptable: Expert ids accepted as correct for the project.
        k: Cut-off.

    Returns:
        DCG of the top ``k`` divided by the DCG of an ideal ranking that lists all
        acceptable experts first; 0.0 when the project has no acceptable expert.
    """
    relevant = set(acceptable)
    if not relevant:
        return 0.0
    dcg = sum(
        1.0 / math.log2(position + 1)
        for position, expert_id in enumerate(ranked[:k], start=1)
        if expert_id in relevant
    )
    ideal = sum(
        1.0 / math.log2(position + 1)
        for position in range(1, min(len(relevant), k) + 1)
    )
    return dcg / ideal


def project_metrics(
    ranked: Sequence[str], acceptable: Iterable[str]
) -> dict[str, float]:
    """All report metrics for one project.

    Args:
        ranked: Expert ids, best first.
        acceptable: Expert ids accepted as correct for the project.

    Returns:
        Mapping metric name -> value, keys as in ``METRIC_NAMES``.
    """
    relevant = set(acceptable)
    return {
        "hit@1": hit_at_k(ranked, relevant, 1),
        "hit@5": hit_at_k(ranked, relevant, 5),
        "mrr": reciprocal_rank(ranked, relevant),
        "ndcg@5": ndcg_at_k(ranked, relevant, 5),
    }


def check_aligned(ranked_lists: Sequence, acceptable_sets: Sequence) -> None:
    """Refuse rankings and acceptable-expert sets that are not one per project.

    Raises:
        ValueError: If the two sequences differ in length.
    """
    if len(ranked_lists) != len(acceptable_sets):
        raise ValueError(
            f"Got {len(ranked_lists)} rankings but {len(acceptable_sets)} "
            "acceptable-expert sets; they must be aligned one per project."
        )


def per_project_metrics(
    ranked_lists: Sequence[Sequence[str]], acceptable_sets: Sequence[Iterable[str]]
) -> pd.DataFrame:
    """Metric values of every project, one row per project.

    Args:
        ranked_lists: One ranking (expert ids, best first) per project.
        acceptable_sets: The acceptable expert ids of each project, same order.

    Returns:
        DataFrame with one column per metric in ``METRIC_NAMES``.

    Raises:
        ValueError: If the two sequences differ in length.
    """
    check_aligned(ranked_lists, acceptable_sets)
    rows = [
        project_metrics(ranked, acceptable)
        for ranked, acceptable in zip(ranked_lists, acceptable_sets, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(METRIC_NAMES))


def _log_comb(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    """log of the binomial coefficient C(n, k), vectorised (``-inf`` where k > n)."""
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        out = gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    return np.where((k >= 0) & (k <= n), out, -np.inf)


def expected_random_metrics(n_acceptable: int, n_experts: int) -> dict[str, float]:
    """Exact expected metrics of a uniformly random ranking of the roster.

    With ``m`` acceptable experts among ``N``: ``P(hit@k) = 1 - C(N-m, k) / C(N, k)``;
    the first acceptable expert sits at rank ``r`` with probability
    ``C(N-r, m-1) / C(N, m)``; each position holds an acceptable expert with
    probability ``m / N``, which gives the expected DCG.

    Args:
        n_acceptable: Number of acceptable experts of the project (``m`` >= 1).
        n_experts: Roster size (``N`` >= ``m``).

    Returns:
        Mapping metric name -> expected value, keys as in ``METRIC_NAMES``.

    Raises:
        ValueError: If ``m`` is not in ``[1, N]``.
    """
    m, n = int(n_acceptable), int(n_experts)
    if not 1 <= m <= n:
        raise ValueError(
            f"expected_random_metrics needs 1 <= n_acceptable <= n_experts, got "
            f"n_acceptable={m}, n_experts={n}."
        )

    def p_hit(k: int) -> float:
        return float(1.0 - np.exp(_log_comb(n - m, k) - _log_comb(n, k)))

    ranks = np.arange(1, n - m + 2)
    p_first = np.exp(_log_comb(n - ranks, m - 1) - _log_comb(n, m))
    k = 5
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(m, k) + 1))
    dcg = sum((m / n) / math.log2(i + 1) for i in range(1, min(k, n) + 1))
    return {
        "hit@1": p_hit(1),
        "hit@5": p_hit(min(5, n)),
        "mrr": float(np.sum(p_first / ranks)),
        "ndcg@5": dcg / ideal,
    }


def bootstrap_indices(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """Resampling indices for a project-level bootstrap.

    Args:
        n_items: Number of projects.
        n_boot: Number of bootstrap resamples.
        seed: Seed of the random generator (from parameters).

    Returns:
        Integer array of shape ``[n_boot, n_items]``.
    """
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(n_boot, n_items))


def bootstrap_summary(
    values: pd.DataFrame, n_boot: int, seed: int, confidence: float = 0.95
) -> dict[str, dict[str, float]]:
    """Mean of each metric column and its percentile bootstrap interval.

    Args:
        values: Per-project metric values (one row per project, one column per metric).
        n_boot: Number of bootstrap resamples (projects drawn with replacement).
        seed: Seed of the resampling.
        confidence: Coverage of the interval, e.g. 0.95.

    Returns:
        ``{metric: {"value": mean, "ci_low": lower, "ci_high": upper}}``.

    Raises:
        ValueError: On an empty table, ``n_boot < 1`` or a confidence outside (0, 1).
    """
    if values.empty:
        raise ValueError("Cannot summarise metrics of zero projects.")
    if n_boot < 1:
        raise ValueError(f"bootstrap n_boot must be >= 1, got {n_boot}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"bootstrap confidence must be in (0, 1), got {confidence}.")
    matrix = values.to_numpy(dtype=float)
    indices = bootstrap_indices(len(matrix), n_boot, seed)
    # [n_boot, n_items, n_metrics] -> mean over items.
    resampled_means = matrix[indices].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low = np.quantile(resampled_means, alpha, axis=0)
    high = np.quantile(resampled_means, 1.0 - alpha, axis=0)
    means = matrix.mean(axis=0)
    return {
        column: {
            "value": float(means[i]),
            "ci_low": float(low[i]),
            "ci_high": float(high[i]),
        }
        for i, column in enumerate(values.columns)
    }

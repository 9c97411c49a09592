"""One grid search for every fusion weight tuned on held-out projects.

Two weights are chosen this way: the BM25 weight of the hybrid retriever
(``retrieval.hybrid``) and the retriever weight of the LLM rerank fusion
(``recommender.rerank``). Both rank the same projects at each weight of a grid, score
the rankings with the report's own metrics and keep the best weight, so the rule
(including how ties are broken) lives here once::

    weight, table = tune_weight(
        lambda w: [ranking_of(project, w) for project in validation],
        acceptable_sets,
        grid=[0.0, 0.5, 1.0],
        metric="mrr",
        name="bm25_weight",
    )

Only this module and ``metrics`` are imported, so both the retrieval and the
recommender packages can use it without an import cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from expert_kedro.evaluation.metrics import METRIC_NAMES, per_project_metrics

logger = logging.getLogger(__name__)


def tune_weight(
    rank_at: Callable[[float], Sequence[Sequence[str]]],
    acceptable_sets: Sequence[Iterable[int]],
    grid: Sequence[float],
    *,
    metric: str = "mrr",
    name: str = "weight",
    prefer: float = 0.5,
) -> tuple[float, pd.DataFrame]:
    """The grid weight whose rankings score best on held-out projects.

    Ties go to the weight closest to ``prefer`` (0.5 by default: the least extreme
    blend, which relies on neither side alone when the data cannot tell them apart;
    an optional extra signal prefers 0, so it is only added when it helps).

    Args:
        rank_at: Rankings (expert ids, best first) of every project at a weight.
        acceptable_sets: Acceptable experts per project, in the same order.
        grid: Weights to try, each in [0, 1].
        metric: Metric maximised, one of ``METRIC_NAMES``.
        name: Name of the weight (the table's first column, the log line).
        prefer: The weight that ties are broken towards.

    Returns:
        ``(best_weight, table)``: ``table`` has one row per weight, the weight in
        column ``name`` and one column per metric (project means).

    Raises:
        ValueError: For an empty grid, a weight outside [0, 1] or an unknown metric.
    """
    if not grid:
        raise ValueError(f"The {name} grid is empty; give at least one weight to try.")
    outside = [w for w in grid if not 0.0 <= float(w) <= 1.0]
    if outside:
        raise ValueError(f"The {name} grid has weights outside [0, 1]: {outside}.")
    if metric not in METRIC_NAMES:
        raise ValueError(
            f"Unknown tuning metric {metric!r} for {name}; use one of {METRIC_NAMES}."
        )
    acceptable = [list(ids) for ids in acceptable_sets]
    rows = []
    for weight in grid:
        means = per_project_metrics(rank_at(float(weight)), acceptable).mean()
        rows.append({name: float(weight), **means.to_dict()})
    table = pd.DataFrame(rows)
    best = table.assign(_gap=(table[name] - float(prefer)).abs()).sort_values(
        [metric, "_gap"], ascending=[False, True], kind="stable"
    )
    weight = float(best[name].iloc[0])
    logger.info(
        "Tuned %s on %d held-out projects: %.2f (%s=%.3f).",
        name,
        len(acceptable),
        weight,
        metric,
        float(best[metric].iloc[0]),
    )
    return weight, table

"""Wiring of the evaluation pipeline.

Adding a system (e.g. an LLM recommender): write a node that reads ``test_projects``
and ``partial_test_projects`` (a reranker also reads ``checked_retrieval_index`` or
``hybrid_candidates``) and returns a rankings table (``rankings.RANKING_COLUMNS``, one
``system`` name, splits ``test`` and optionally ``validation``, variants
``full``/``partial``); then register
``evaluation.create_pipeline(extra_rankings=["<your_rankings>"]) + <your pipeline>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_hybrid_candidates,
    build_partial_test_projects,
    check_retrieval_index,
    compute_evaluation_metrics,
    plot_evaluation_comparison,
    rank_baseline_projects,
    render_evaluation_table,
)


def create_pipeline(extra_rankings: Sequence[str] = (), **kwargs) -> Pipeline:
    """Retrieval baselines, their rankings and the metrics report.

    Args:
        extra_rankings: Names of extra rankings datasets (one per added system)
            that the metrics node scores alongside the baselines.
        **kwargs: Ignored (Kedro convention).

    Returns:
        The evaluation pipeline.
    """
    return Pipeline(
        [
            node(
                build_partial_test_projects,
                inputs=["test_projects", "params:evaluation.partial_agendas"],
                outputs="partial_test_projects",
                name="build_partial_test_projects_node",
            ),
            node(
                check_retrieval_index,
                inputs=[
                    "retrieval_index",
                    "validation_projects",
                    "test_projects",
                    "partial_test_projects",
                ],
                outputs=["checked_retrieval_index", "hybrid_tuning"],
                name="check_retrieval_index_node",
            ),
            node(
                rank_baseline_projects,
                inputs=[
                    "checked_retrieval_index",
                    "validation_projects",
                    "test_projects",
                    "partial_test_projects",
                    "params:evaluation",
                ],
                outputs=["baseline_rankings", "retrieval_timings"],
                name="rank_baseline_projects_node",
            ),
            node(
                build_hybrid_candidates,
                inputs=["baseline_rankings", "params:evaluation.candidates"],
                outputs="hybrid_candidates",
                name="build_hybrid_candidates_node",
            ),
            node(
                compute_evaluation_metrics,
                inputs=[
                    "expert_roster",
                    "train_pairs",
                    "validation_projects",
                    "test_projects",
                    "partial_test_projects",
                    "hybrid_tuning",
                    "retrieval_timings",
                    "params:evaluation",
                    "baseline_rankings",
                    *extra_rankings,
                ],
                outputs="evaluation_metrics",
                name="compute_evaluation_metrics_node",
            ),
            node(
                plot_evaluation_comparison,
                inputs="evaluation_metrics",
                outputs="evaluation_comparison_plot",
                name="plot_evaluation_comparison_node",
            ),
            node(
                render_evaluation_table,
                inputs="evaluation_metrics",
                outputs="evaluation_results_table",
                name="render_evaluation_table_node",
            ),
        ]
    )

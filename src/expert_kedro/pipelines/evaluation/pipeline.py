"""Wiring of the evaluation pipeline.

Adding a system (e.g. an LLM recommender): write a node that reads ``test_projects``
and ``partial_test_projects`` (an LLM reranker also reads ``hybrid_candidates``) and
returns a rankings table (``rankings.RANKING_COLUMNS``, one ``system`` name, splits
``test`` and optionally ``validation``, variants ``full``/``partial``); then register
``evaluation.create_pipeline(extra_rankings=["<your_rankings>"]) + <your pipeline>``.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_hybrid_candidates,
    build_index_documents,
    build_partial_test_projects,
    compute_evaluation_metrics,
    fit_bm25_retriever,
    fit_dense_retriever,
    fit_popularity_retriever,
    plot_evaluation_comparison,
    rank_baseline_projects,
    render_evaluation_table,
    tune_hybrid_retriever,
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
                build_index_documents,
                inputs=[
                    "expert_roster",
                    "train_pairs",
                    "clean_matches",
                    "validation_projects",
                    "test_projects",
                    "partial_test_projects",
                    "params:evaluation",
                ],
                outputs="expert_documents",
                name="build_index_documents_node",
            ),
            node(
                fit_popularity_retriever,
                inputs="expert_documents",
                outputs="popularity_retriever",
                name="fit_popularity_retriever_node",
            ),
            node(
                fit_bm25_retriever,
                inputs=["expert_documents", "params:evaluation.bm25"],
                outputs="bm25_retriever",
                name="fit_bm25_retriever_node",
            ),
            node(
                fit_dense_retriever,
                inputs=["expert_documents", "params:evaluation.dense"],
                outputs="dense_retriever",
                name="fit_dense_retriever_node",
            ),
            node(
                tune_hybrid_retriever,
                inputs=[
                    "bm25_retriever",
                    "dense_retriever",
                    "validation_projects",
                    "params:evaluation.hybrid",
                ],
                outputs=["hybrid_retriever", "hybrid_tuning"],
                name="tune_hybrid_retriever_node",
            ),
            node(
                rank_baseline_projects,
                inputs=[
                    "popularity_retriever",
                    "bm25_retriever",
                    "dense_retriever",
                    "hybrid_retriever",
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

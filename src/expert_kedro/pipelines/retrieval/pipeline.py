"""Wiring of the retrieval pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_retrieval_documents,
    fit_retrieval_index_parts,
    tune_retrieval_fusion,
)


def create_pipeline(**kwargs) -> Pipeline:
    """TRAIN documents -> fitted BM25/dense/popularity -> fusion tuned on VALIDATION."""
    return Pipeline(
        [
            node(
                build_retrieval_documents,
                inputs=[
                    "expert_roster",
                    "train_pairs",
                    "clean_matches",
                    "validation_projects",
                    "test_projects",
                    "params:retrieval",
                ],
                outputs="retrieval_documents",
                name="build_retrieval_documents_node",
            ),
            node(
                fit_retrieval_index_parts,
                inputs=["retrieval_documents", "params:retrieval"],
                outputs="untuned_retrieval_index",
                name="fit_retrieval_index_node",
            ),
            node(
                tune_retrieval_fusion,
                inputs=["untuned_retrieval_index", "validation_projects"],
                outputs=["retrieval_index", "retrieval_index_report"],
                name="tune_retrieval_index_node",
            ),
        ]
    )

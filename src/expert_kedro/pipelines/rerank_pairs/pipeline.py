"""Wiring of the rerank_pairs pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import build_rerank_pairs, select_training_pairs


def create_pipeline(**kwargs) -> Pipeline:
    """Generative pairs -> rerank examples -> the training set of the chosen mode."""
    return Pipeline(
        [
            node(
                build_rerank_pairs,
                inputs=[
                    "train_pairs",
                    "augmented_train_pairs",
                    "validation_pairs",
                    "validation_projects",
                    "expert_roster",
                    "clean_matches",
                    "retrieval_index",
                    "params:recommender",
                    "params:rerank_pairs",
                ],
                outputs=[
                    "rerank_train_pairs",
                    "rerank_validation_pairs",
                    "rerank_pairs_report",
                ],
                name="build_rerank_pairs_node",
            ),
            node(
                select_training_pairs,
                inputs=[
                    "train_pairs",
                    "augmented_train_pairs",
                    "validation_pairs",
                    "rerank_train_pairs",
                    "rerank_validation_pairs",
                    "params:recommender",
                ],
                outputs=["training_examples", "validation_examples"],
                name="select_training_pairs_node",
            ),
        ]
    )

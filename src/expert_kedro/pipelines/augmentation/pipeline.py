"""Wiring of the augmentation pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import augment_pairs


def create_pipeline(**kwargs) -> Pipeline:
    """Instruction pairs -> pairs plus partial-agenda variants."""
    return Pipeline(
        [
            node(
                augment_pairs,
                inputs=[
                    "train_pairs",
                    "validation_pairs",
                    "clean_matches",
                    "project_splits",
                    "expert_roster",
                    "params:pairs",
                    "params:augmentation",
                ],
                outputs=[
                    "augmented_train_pairs",
                    "augmented_validation_pairs",
                    "augmentation_report",
                ],
                name="augment_pairs_node",
            ),
        ]
    )

"""Wiring of the data_processing pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_evaluation_projects,
    build_expert_roster,
    build_instruction_pairs,
    clean_expert_data,
    compile_data_quality_report,
    select_clean_matches,
    split_projects,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Raw export -> clean matches, roster, splits, pairs and quality report."""
    return Pipeline(
        [
            node(
                clean_expert_data,
                inputs="expert_data_raw",
                outputs=["clean_expert_rows", "cleaning_report"],
                name="clean_expert_data_node",
            ),
            node(
                select_clean_matches,
                inputs="clean_expert_rows",
                outputs="clean_matches",
                name="select_clean_matches_node",
            ),
            node(
                build_expert_roster,
                inputs=[
                    "clean_expert_rows",
                    "expert_reference_roster",
                    "params:roster",
                ],
                outputs=["expert_roster", "roster_report"],
                name="build_expert_roster_node",
            ),
            node(
                split_projects,
                inputs=["clean_matches", "params:split"],
                outputs=["project_splits", "split_report"],
                name="split_projects_node",
            ),
            node(
                build_evaluation_projects,
                inputs=["clean_matches", "project_splits"],
                outputs=["validation_projects", "test_projects"],
                name="build_evaluation_projects_node",
            ),
            node(
                build_instruction_pairs,
                inputs=[
                    "clean_matches",
                    "project_splits",
                    "expert_roster",
                    "params:pairs",
                ],
                outputs=[
                    "train_pairs",
                    "validation_pairs",
                    "test_pairs",
                    "pairs_report",
                ],
                name="build_instruction_pairs_node",
            ),
            node(
                compile_data_quality_report,
                inputs=[
                    "cleaning_report",
                    "roster_report",
                    "split_report",
                    "pairs_report",
                ],
                outputs="data_quality_report",
                name="compile_data_quality_report_node",
            ),
        ]
    )

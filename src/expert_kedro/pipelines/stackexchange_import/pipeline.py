"""Wiring of the stackexchange_import pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_stackexchange_matches,
    build_stackexchange_roster,
    cut_profile_period,
    read_stackexchange_questions,
    write_stackexchange_data_card,
)


def create_pipeline(**kwargs) -> Pipeline:
    """NeRankFormat files -> the raw matches and roster files, plus a data card."""
    return Pipeline(
        [
            node(
                read_stackexchange_questions,
                inputs=[
                    "stackexchange_question_titles",
                    "stackexchange_question_bodies",
                    "stackexchange_question_records",
                    "params:stackexchange",
                ],
                outputs=["stackexchange_questions", "stackexchange_source_report"],
                name="read_stackexchange_questions_node",
            ),
            node(
                cut_profile_period,
                inputs=["stackexchange_questions", "params:stackexchange"],
                outputs=[
                    "stackexchange_profile_questions",
                    "stackexchange_later_questions",
                    "stackexchange_time_cut_report",
                ],
                name="cut_profile_period_node",
            ),
            node(
                build_stackexchange_roster,
                inputs=["stackexchange_profile_questions", "params:stackexchange"],
                outputs=["stackexchange_experts", "stackexchange_roster_report"],
                name="build_stackexchange_roster_node",
            ),
            node(
                build_stackexchange_matches,
                inputs=[
                    "stackexchange_later_questions",
                    "stackexchange_experts",
                    "params:stackexchange",
                ],
                outputs=["stackexchange_expert_data", "stackexchange_projects_report"],
                name="build_stackexchange_matches_node",
            ),
            node(
                write_stackexchange_data_card,
                inputs=[
                    "stackexchange_source_report",
                    "stackexchange_time_cut_report",
                    "stackexchange_roster_report",
                    "stackexchange_projects_report",
                    "params:stackexchange",
                ],
                outputs=["stackexchange_import_report", "stackexchange_data_card"],
                name="write_stackexchange_data_card_node",
            ),
        ]
    )

"""Nodes of the stackexchange_import pipeline.

One Stack Exchange site's NeRankFormat files in, the project's two raw files out
(``expert_data.csv`` matches and the ``experts.csv`` roster), with the time cut that
keeps every project out of every profile, and a data card counting each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.importers.stackexchange import (
    Question,
    StackExchangeSettings,
    assemble_questions,
    build_match_rows,
    build_roster_profiles,
    data_card,
    enforce_line_policy,
    import_report,
    read_id_text_lines,
    read_records,
    split_periods,
)


def read_stackexchange_questions(
    question_titles: str,
    question_bodies: str,
    question_records: str,
    stackexchange_params: Mapping[str, Any],
) -> tuple[list[Question], dict[str, Any]]:
    """Check every source line and join the three files into questions.

    Args:
        question_titles: ``Q_title.txt`` as text.
        question_bodies: ``Q_content.txt`` as text.
        question_records: ``Record_All.json`` as text (JSON lines).
        stackexchange_params: The ``stackexchange`` parameters.

    Returns:
        The questions, oldest first, and the sources section of the import report.

    Raises:
        ValueError: On malformed lines with ``bad_lines: error``, naming each file
            and line.
    """
    settings = StackExchangeSettings.from_params(stackexchange_params)
    site = settings.site
    titles, title_problems = read_id_text_lines(question_titles, f"{site}/Q_title.txt")
    bodies, body_problems = read_id_text_lines(question_bodies, f"{site}/Q_content.txt")
    records, record_problems = read_records(question_records, f"{site}/Record_All.json")
    problems = [*title_problems, *body_problems, *record_problems]
    enforce_line_policy(problems, settings.bad_lines)
    questions, report = assemble_questions(titles, bodies, records, settings)
    return questions, {"malformed_lines_skipped": len(problems), **report}


def cut_profile_period(
    questions: list[Question], stackexchange_params: Mapping[str, Any]
) -> tuple[list[Question], list[Question], dict[str, Any]]:
    """Oldest questions build profiles; the later ones are candidate projects."""
    return split_periods(
        questions, StackExchangeSettings.from_params(stackexchange_params)
    )


def build_stackexchange_roster(
    profile_questions: list[Question], stackexchange_params: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The roster file from the profile period (never from a project)."""
    return build_roster_profiles(
        profile_questions, StackExchangeSettings.from_params(stackexchange_params)
    )


def build_stackexchange_matches(
    later_questions: list[Question],
    stackexchange_experts: pd.DataFrame,
    stackexchange_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The match file: later questions answered by at least one roster member."""
    return build_match_rows(
        later_questions,
        stackexchange_experts,
        StackExchangeSettings.from_params(stackexchange_params),
    )


def write_stackexchange_data_card(
    source_report: dict[str, Any],
    time_cut_report: dict[str, Any],
    roster_report: dict[str, Any],
    projects_report: dict[str, Any],
    stackexchange_params: Mapping[str, Any],
) -> tuple[dict[str, Any], str]:
    """The import report (JSON) and the data card (markdown) of the imported site."""
    report = import_report(
        source_report,
        time_cut_report,
        roster_report,
        projects_report,
        StackExchangeSettings.from_params(stackexchange_params),
    )
    return report, data_card(report)

"""Stack Exchange (team2box NeRankFormat) → the project's raw schema.

The steps, each a pure function the ``stackexchange_import`` pipeline wires::

    settings = StackExchangeSettings.from_params(params["stackexchange"])
    titles, problems = read_id_text_lines(title_text, "dba/Q_title.txt")
    ...
    questions, source_report = assemble_questions(titles, bodies, records, settings)
    profile, later, cut = split_periods(questions, settings)  # the time cut
    experts, roster_report = build_roster_profiles(profile, settings)
    rows, projects_report = build_match_rows(later, experts, settings)
    card = data_card(import_report(source_report, cut, roster_report, ...))
"""

from __future__ import annotations

from .card import ATTRIBUTION, data_card, import_report
from .projects import (
    EMPTY_PROJECT_FIELDS,
    MATCH_COLUMNS,
    build_match_rows,
    chunk_agenda,
)
from .roster import (
    EMPTY_PROFILE_FIELDS,
    EXPERT_COLUMNS,
    build_roster_profiles,
    expert_profile,
    select_roster,
    split_periods,
)
from .settings import BAD_LINE_POLICIES, StackExchangeSettings
from .sources import (
    Question,
    assemble_questions,
    enforce_line_policy,
    read_id_text_lines,
    read_records,
)

__all__ = [
    "ATTRIBUTION",
    "BAD_LINE_POLICIES",
    "EMPTY_PROFILE_FIELDS",
    "EMPTY_PROJECT_FIELDS",
    "EXPERT_COLUMNS",
    "MATCH_COLUMNS",
    "Question",
    "StackExchangeSettings",
    "assemble_questions",
    "build_match_rows",
    "build_roster_profiles",
    "chunk_agenda",
    "data_card",
    "enforce_line_policy",
    "expert_profile",
    "import_report",
    "read_id_text_lines",
    "read_records",
    "select_roster",
    "split_periods",
]

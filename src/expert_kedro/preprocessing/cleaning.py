"""Row cleaning of the raw expert-match export.

Turns the damaged export into one clean row per (project, expert): JSON cells parsed
tolerantly, text unescaped and trimmed, each row's agenda resolved from the best
available source, duplicates removed. Every fix and every drop is counted in the
returned report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import sorted_ids
from expert_kedro.preprocessing.agenda_resolution import (
    AGENDA_SOURCES,
    UNUSABLE,
    resolve_agendas,
)
from expert_kedro.preprocessing.cell_report import (
    PARTLY_RECOVERED,
    cell_outcome,
    cell_report,
)
from expert_kedro.preprocessing.parsing import (
    DROPPED,
    EMPTY_CELL,
    RECOVERED,
    TRUNCATED,
    ParseResult,
    clean_text,
    parse_agenda_cell,
    parse_responses_cell,
    parse_string_list_cell,
)
from expert_kedro.preprocessing.raw_checks import check_id_columns, check_raw_columns

logger = logging.getLogger(__name__)

ID_COLUMNS = ("project_id", "expert_id")
PROJECT_TEXT_COLUMNS = ("project_title", "client_type", "created_at")
PROFILE_TEXT_COLUMNS = (
    "expert_name",
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
)
JSON_COLUMNS = ("agenda", "project_agenda_responses", "expert_skills")
RAW_COLUMNS = (*ID_COLUMNS, *PROJECT_TEXT_COLUMNS, *PROFILE_TEXT_COLUMNS, *JSON_COLUMNS)


def _clean_text_columns(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, dict[str, dict[str, int]], pd.Series]:
    """Clean free-text columns; returns counts per column/defect and a per-row flag."""
    report: dict[str, dict[str, int]] = {}
    touched = pd.Series(False, index=frame.index)
    for column in columns:
        counts: Counter = Counter()
        cleaned = []
        for index, value in frame[column].items():
            text, defects = clean_text("" if pd.isna(value) else str(value))
            if not text:
                defects = (*defects, EMPTY_CELL)
            if defects:
                touched[index] = True
            counts.update(defects)
            cleaned.append(text)
        frame[column] = cleaned
        report[column] = dict(sorted(counts.items()))
    return frame, report, touched


def _check_has_rows(rows_in: int) -> None:
    """A header-only export cannot be split or trained on: say so, not crash."""
    if rows_in == 0:
        raise ValueError(
            "Dataset 'expert_data_raw' has no data rows: the file holds a header "
            "only. Export at least one (project, expert) row (data card: "
            "data/01_raw)."
        )


def _check_usable(report: dict[str, Any]) -> None:
    """Fail, saying why, when every row was dropped."""
    if report["rows_out"] == 0:
        reasons = {
            k: report[k]
            for k in ("invalid_id_rows_dropped", "rows_without_usable_agenda_dropped")
        }
        raise ValueError(
            f"Dataset 'expert_data_raw': none of its {report['rows_in']} row(s) is "
            f"usable ({reasons}; first bad rows: {report['invalid_id_rows'][:5]}). "
            "Check the project_id, expert_id and agenda columns."
        )


@dataclass(frozen=True)
class _ParsedCells:
    """The JSON cells of the rows, parsed, and what the repairs did per row."""

    agendas: list[ParseResult]
    responses: list[ParseResult]
    skills: list[ParseResult]
    sources: list[str]
    # Length of each row's complete agenda (and answer list), None where unknown.
    expected: list[int | None]


def _parse_cells(frame: pd.DataFrame) -> tuple[pd.DataFrame, _ParsedCells, dict]:
    """Parse the JSON and text cells, resolve agendas, flag defects per row."""
    agendas = [parse_agenda_cell(v) for v in frame["agenda"]]
    responses = [parse_responses_cell(v) for v in frame["project_agenda_responses"]]
    skills = [parse_string_list_cell(v) for v in frame["expert_skills"]]
    frame, text_report, text_touched = _clean_text_columns(
        frame, (*PROJECT_TEXT_COLUMNS, *PROFILE_TEXT_COLUMNS)
    )
    resolved, sources = resolve_agendas(frame["project_id"], agendas, responses)
    expected = [
        len(a) if s in AGENDA_SOURCES[:4] else None
        for a, s in zip(resolved, sources, strict=True)
    ]
    frame["agenda"] = resolved
    frame["responses"] = [list(r.items) for r in responses]
    frame["expert_skills"] = [list(r.items) for r in skills]
    frame["agenda_source"] = sources
    frame["_defect"] = text_touched.to_numpy(dtype=bool) | np.array(
        [
            bool(a.defects or r.defects or s.defects)
            for a, r, s in zip(agendas, responses, skills, strict=True)
        ],
        dtype=bool,
    )
    frame["_partial"] = [
        source == "partial_truncated"
        or cell_outcome(answers, n).action == PARTLY_RECOVERED
        for source, answers, n in zip(sources, responses, expected, strict=True)
    ]
    frame["_rank"] = [
        AGENDA_SOURCES.index(s) if s in AGENDA_SOURCES else 99 for s in sources
    ]
    cells = _ParsedCells(agendas, responses, skills, sources, expected)
    return frame, cells, text_report


def _keep_best_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Usable rows, one per (project, expert): the best agenda source wins."""
    usable = frame["agenda_source"] != UNUSABLE
    no_agenda = int((~usable).sum())
    if no_agenda:
        logger.warning(
            "Dropping %d row(s) whose agenda could not be recovered from any source "
            "(project_ids %s)",
            no_agenda,
            sorted_ids(frame.loc[~usable, "project_id"]),
        )
    kept = frame.loc[usable]
    before_key_dedup = len(kept)
    kept = (
        kept.reset_index()
        .sort_values(["project_id", "expert_id", "_rank", "index"])
        .drop_duplicates(["project_id", "expert_id"])
        .sort_values("index")
        .set_index("index")
    )
    return kept, no_agenda, before_key_dedup - len(kept)


def clean_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean the raw export into one row per (project, expert).

    Args:
        raw: The export as loaded, all cells as text, index = row position.

    Returns:
        The clean rows (ids as the text of their cell, ``agenda`` a list of
        questions, ``responses`` a list of question/answer dicts,
        ``expert_skills`` a list, every text field cleaned, plus
        ``agenda_source``) and the cleaning section of the data-quality report.

    Raises:
        ValueError: If a column is missing, or no row is usable (header-only
            file, every id or agenda unusable), naming the reason.
    """
    check_raw_columns(raw, RAW_COLUMNS, "expert_data_raw")
    rows_in = len(raw)
    _check_has_rows(rows_in)
    frame = raw.loc[:, list(RAW_COLUMNS)].drop_duplicates()
    exact_duplicates = rows_in - len(frame)
    frame, id_report = check_id_columns(frame, ID_COLUMNS, "expert_data_raw")
    frame = frame.reset_index(drop=True)
    raw_name_variants = int(
        frame.groupby("expert_id")["expert_name"].nunique().gt(1).sum()
    )
    frame, cells, text_report = _parse_cells(frame)
    kept, no_agenda, key_duplicates = _keep_best_rows(frame)
    report = {
        "rows_in": rows_in,
        "exact_duplicate_rows_removed": exact_duplicates,
        **id_report,
        "rows_without_usable_agenda_dropped": no_agenda,
        "duplicate_key_rows_removed": key_duplicates,
        **_rows_report(rows_in, kept, cells),
        "text_fields_fixed": text_report,
        "experts_with_name_variants_in_raw_text": raw_name_variants,
        "projects_with_conflicting_agendas": _agenda_conflicts(kept),
    }
    _log_report(report)
    _check_usable(report)
    return (
        kept.drop(columns=["_rank", "_defect", "_partial"]).reset_index(drop=True),
        report,
    )


def _rows_report(
    rows_in: int, kept: pd.DataFrame, cells: _ParsedCells
) -> dict[str, Any]:
    """Row and cell outcomes: counts per action, defect kind and items lost."""
    return {
        "rows_out": len(kept),
        "projects_out": int(kept["project_id"].nunique()),
        "experts_out": int(kept["expert_id"].nunique()),
        # Sums to rows_in: every input row is clean, (partly) recovered or dropped.
        # Partly recovered: the row's agenda or answers lost items in a repair.
        "row_actions": {
            "clean": int((~kept["_defect"]).sum()),
            RECOVERED: int((kept["_defect"] & ~kept["_partial"]).sum()),
            PARTLY_RECOVERED: int(kept["_partial"].sum()),
            DROPPED: rows_in - len(kept),
        },
        "json_cells": {
            "agenda": cell_report(cells.agendas, cells.expected),
            "project_agenda_responses": cell_report(cells.responses, cells.expected),
            "expert_skills": cell_report(cells.skills, [None] * len(cells.skills)),
        },
        "agenda_resolution": {
            s: cells.sources.count(s) for s in (*AGENDA_SOURCES, UNUSABLE)
        },
        "agendas_truncated_in_cell_but_complete_elsewhere": sum(
            TRUNCATED in a.defects and src in AGENDA_SOURCES[1:4]
            for a, src in zip(cells.agendas, cells.sources, strict=True)
        ),
    }


def _log_report(report: dict[str, Any]) -> None:
    for column, section in report["json_cells"].items():
        logger.info(
            "%s cells: %s; items lost by repairs: %d (+%d cell(s) with an uncounted "
            "loss); defects: %s",
            column,
            section["actions"],
            section["items_lost"],
            section["cells_with_uncounted_loss"],
            section["defects"],
        )
    logger.info(
        "Cleaned expert data: %d rows in, %d exact duplicates, %d without agenda, "
        "%d invalid ids, %d rows out",
        report["rows_in"],
        report["exact_duplicate_rows_removed"],
        report["rows_without_usable_agenda_dropped"],
        report["invalid_id_rows_dropped"],
        report["rows_out"],
    )


def _agenda_conflicts(frame: pd.DataFrame) -> list[str]:
    """Projects whose rows ended up with different agendas (should be none)."""
    distinct = frame.groupby("project_id")["agenda"].agg(
        lambda s: len({tuple(a) for a in s})
    )
    conflicts = sorted_ids(distinct[distinct > 1].index)
    if conflicts:
        logger.warning("Projects with differing agendas across rows: %s", conflicts)
    return conflicts

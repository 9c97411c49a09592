"""Row cleaning of the raw expert-match export.

Turns the damaged export into one clean row per (project, expert): JSON cells parsed
tolerantly, text unescaped and trimmed, each row's agenda resolved from the best
available source, duplicates removed. Every fix and every drop is counted in the
returned report.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from expert_kedro.preprocessing.parsing import (
    DROPPED,
    EMPTY_CELL,
    INVALID_ITEM,
    RECOVERED,
    TRUNCATED,
    ParseResult,
    clean_text,
    parse_agenda_cell,
    parse_responses_cell,
    parse_string_list_cell,
)

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

# Where a row's agenda came from, best first (the order is the preference order).
AGENDA_SOURCES = (
    "agenda_cell",
    "sibling_agenda",
    "responses",
    "sibling_responses",
    "partial_truncated",
)
UNUSABLE = "unusable"


def check_raw_columns(raw: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Fail early, naming the dataset and the missing columns.

    Raises:
        ValueError: If any of ``columns`` is absent from ``raw``.
    """
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ValueError(
            f"Dataset '{name}' lacks column(s) {missing}; found {list(raw.columns)}. "
            "Check the file against the data card (data/01_raw)."
        )


def _cell_report(results: Sequence[ParseResult]) -> dict[str, Any]:
    actions = Counter(r.action for r in results)
    defects: dict[str, Counter] = defaultdict(Counter)
    for result in results:
        outcome = DROPPED if result.action == DROPPED else RECOVERED
        for kind in result.defects:
            defects[kind][outcome] += 1
    return {
        "actions": {a: actions.get(a, 0) for a in ("clean", RECOVERED, DROPPED)},
        "defects": {
            kind: {RECOVERED: c[RECOVERED], DROPPED: c[DROPPED]}
            for kind, c in sorted(defects.items())
        },
    }


def _is_whole(result: ParseResult) -> bool:
    """A list we can trust to hold every question (nothing cut or discarded)."""
    return result.is_complete and INVALID_ITEM not in result.defects


def _resolve_row(
    own: tuple[ParseResult, ParseResult],
    siblings: Sequence[tuple[ParseResult, ParseResult]],
) -> tuple[list[str] | None, str]:
    """Pick a row's agenda: own cell, sibling cell, answers' questions, or a part."""
    own_agenda, own_responses = own
    sibling_agendas = [a for a, _ in siblings]
    sibling_responses = [r for _, r in siblings]
    if _is_whole(own_agenda):
        return own_agenda.questions, "agenda_cell"
    whole = [tuple(a.items) for a in sibling_agendas if _is_whole(a)]
    if whole:
        return list(Counter(whole).most_common(1)[0][0]), "sibling_agenda"
    if _is_whole(own_responses):
        return [r["question"] for r in own_responses.items], "responses"
    whole = [r for r in sibling_responses if _is_whole(r)]
    if whole:
        return [r["question"] for r in whole[0].items], "sibling_responses"
    partials = [list(a.items) for a in [own_agenda, *sibling_agendas]] + [
        [r["question"] for r in resp.items]
        for resp in [own_responses, *sibling_responses]
    ]
    longest = max(partials, key=len)
    if longest:
        return longest, "partial_truncated"
    return None, UNUSABLE


def _parse_ids(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    ids = {
        c: pd.to_numeric(frame[c].astype(str).str.strip(), errors="coerce")
        for c in ID_COLUMNS
    }
    valid = ids["project_id"].notna() & ids["expert_id"].notna()
    invalid = int((~valid).sum())
    if invalid:
        logger.warning(
            "Dropping %d row(s) with a non-numeric project_id/expert_id", invalid
        )
    frame = frame.loc[valid].copy()
    for column in ID_COLUMNS:
        frame[column] = ids[column][valid].astype("int64")
    return frame, invalid


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


def clean_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean the raw export into one row per (project, expert).

    Args:
        raw: The export as loaded, all cells as text.

    Returns:
        The clean rows (ids as ints, ``agenda`` a list of questions, ``responses`` a
        list of question/answer dicts, ``expert_skills`` a list, every text field
        cleaned, plus ``agenda_source``) and the cleaning section of the
        data-quality report.
    """
    check_raw_columns(raw, RAW_COLUMNS, "expert_data_raw")
    rows_in = len(raw)
    frame = raw.loc[:, list(RAW_COLUMNS)].drop_duplicates()
    exact_duplicates = rows_in - len(frame)
    frame, invalid_ids = _parse_ids(frame.reset_index(drop=True))
    frame = frame.reset_index(drop=True)
    raw_name_variants = int(
        frame.groupby("expert_id")["expert_name"].nunique().gt(1).sum()
    )

    agendas = [parse_agenda_cell(v) for v in frame["agenda"]]
    responses = [parse_responses_cell(v) for v in frame["project_agenda_responses"]]
    skills = [parse_string_list_cell(v) for v in frame["expert_skills"]]
    frame, text_report, text_touched = _clean_text_columns(
        frame, (*PROJECT_TEXT_COLUMNS, *PROFILE_TEXT_COLUMNS)
    )

    members: dict[int, list[int]] = defaultdict(list)
    for position, project_id in enumerate(frame["project_id"]):
        members[project_id].append(position)
    resolved: list[list[str] | None] = []
    sources: list[str] = []
    for position, project_id in enumerate(frame["project_id"]):
        siblings = [
            (agendas[i], responses[i]) for i in members[project_id] if i != position
        ]
        agenda, source = _resolve_row(
            (agendas[position], responses[position]), siblings
        )
        resolved.append(agenda)
        sources.append(source)

    frame["agenda"] = resolved
    frame["responses"] = [list(r.items) for r in responses]
    frame["expert_skills"] = [list(r.items) for r in skills]
    frame["agenda_source"] = sources
    row_has_defect = text_touched.to_numpy() | [
        bool(a.defects or r.defects or s.defects)
        for a, r, s in zip(agendas, responses, skills, strict=True)
    ]

    usable = frame["agenda_source"] != UNUSABLE
    no_agenda = int((~usable).sum())
    if no_agenda:
        logger.warning(
            "Dropping %d row(s) whose agenda could not be recovered from any source "
            "(project_ids %s)",
            no_agenda,
            sorted(frame.loc[~usable, "project_id"].unique().tolist()),
        )
    frame["_rank"] = [
        AGENDA_SOURCES.index(s) if s in AGENDA_SOURCES else 99 for s in sources
    ]
    frame["_defect"] = row_has_defect
    kept = frame.loc[usable]
    before_key_dedup = len(kept)
    kept = (
        kept.reset_index()
        .sort_values(["project_id", "expert_id", "_rank", "index"])
        .drop_duplicates(["project_id", "expert_id"])
        .sort_values("index")
        .set_index("index")
    )
    key_duplicates = before_key_dedup - len(kept)

    conflicts = _agenda_conflicts(kept)
    report = {
        "rows_in": rows_in,
        "exact_duplicate_rows_removed": exact_duplicates,
        "invalid_id_rows_dropped": invalid_ids,
        "rows_without_usable_agenda_dropped": no_agenda,
        "duplicate_key_rows_removed": key_duplicates,
        "rows_out": len(kept),
        "projects_out": int(kept["project_id"].nunique()),
        "experts_out": int(kept["expert_id"].nunique()),
        # Sums to rows_in: every input row is clean, recovered or dropped.
        "row_actions": {
            "clean": int((~kept["_defect"]).sum()),
            RECOVERED: int(kept["_defect"].sum()),
            DROPPED: rows_in - len(kept),
        },
        "json_cells": {
            "agenda": _cell_report(agendas),
            "project_agenda_responses": _cell_report(responses),
            "expert_skills": _cell_report(skills),
        },
        "agenda_resolution": {
            s: int(frame["agenda_source"].eq(s).sum())
            for s in (*AGENDA_SOURCES, UNUSABLE)
        },
        "agendas_truncated_in_cell_but_complete_elsewhere": int(
            sum(
                TRUNCATED in a.defects and src in AGENDA_SOURCES[1:4]
                for a, src in zip(agendas, sources, strict=True)
            )
        ),
        "text_fields_fixed": text_report,
        "experts_with_name_variants_in_raw_text": raw_name_variants,
        "projects_with_conflicting_agendas": conflicts,
    }
    for column, section in report["json_cells"].items():
        logger.info(
            "%s cells: %s; defects: %s", column, section["actions"], section["defects"]
        )
    logger.info(
        "Cleaned expert data: %d rows in, %d exact duplicates, %d without agenda, "
        "%d rows out",
        rows_in,
        exact_duplicates,
        no_agenda,
        len(kept),
    )
    return kept.drop(columns=["_rank", "_defect"]).reset_index(drop=True), report


def _agenda_conflicts(frame: pd.DataFrame) -> list[int]:
    """Projects whose rows ended up with different agendas (should be none)."""
    distinct = frame.groupby("project_id")["agenda"].agg(
        lambda s: len({tuple(a) for a in s})
    )
    conflicts = sorted(distinct[distinct > 1].index.tolist())
    if conflicts:
        logger.warning("Projects with differing agendas across rows: %s", conflicts)
    return [int(c) for c in conflicts]

"""Expert roster: one profile per expert, checked against the reference roster.

Profiles are observed in every match row, so the same expert appears many times,
sometimes with damaged text. The roster keeps one row per expert and reports
inconsistencies. ``experts.csv`` is documented as clean, so by default it is the
authoritative source for the profile text; the data-derived profile is used only for
experts the reference lacks (and those are reported).
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pandas as pd

from expert_kedro.preprocessing.cleaning import PROFILE_TEXT_COLUMNS, check_raw_columns
from expert_kedro.preprocessing.parsing import (
    DROPPED,
    clean_text,
    parse_string_list_cell,
)

logger = logging.getLogger(__name__)

ROSTER_COLUMNS = ("expert_id", *PROFILE_TEXT_COLUMNS, "expert_skills")
AUTHORITATIVE_SOURCES = ("reference", "data")
_MAX_EXAMPLES = 10


def _hashable(value: Any) -> Any:
    """Lists (skills) compare as tuples; everything else as is."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _mode(values: pd.Series) -> Any:
    """Most frequent value; ties go to the first seen (rows are in export order)."""
    counts = Counter(_hashable(v) for v in values)
    best = max(counts.values())
    return next(v for v in values if counts[_hashable(v)] == best)


def observed_profiles(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One profile per expert from the clean match rows, with consistency checks.

    Args:
        rows: Clean match rows carrying the profile columns.

    Returns:
        The per-expert profiles (most frequent value of each field) and a report of
        experts whose rows disagree (name conflicts listed explicitly).
    """
    profiles = pd.DataFrame(
        [
            {"expert_id": int(expert_id)}
            | {column: _mode(group[column]) for column in ROSTER_COLUMNS[1:]}
            for expert_id, group in rows.groupby("expert_id", sort=True)
        ],
        columns=list(ROSTER_COLUMNS),
    )
    variants = {}
    for column in ROSTER_COLUMNS[1:]:
        distinct = rows.groupby("expert_id")[column].agg(
            lambda s: len({_hashable(v) for v in s})
        )
        variants[column] = int(distinct.gt(1).sum())
    names = rows.groupby("expert_id")["expert_name"].agg(lambda s: sorted(set(s)))
    conflicts = {int(i): n for i, n in names.items() if len(n) > 1}
    if conflicts:
        logger.warning("Expert IDs carrying several names: %s", conflicts)
    return profiles, {
        "experts_in_data": len(profiles),
        "experts_with_field_variants": variants,
        "name_conflicts": {str(k): v for k, v in conflicts.items()},
    }


def clean_reference(reference: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse and check the reference roster (``experts.csv``).

    Raises:
        ValueError: If a column is missing or an expert_id is not an integer.
    """
    check_raw_columns(reference, ROSTER_COLUMNS, "expert_reference_roster")
    frame = reference.loc[:, list(ROSTER_COLUMNS)].copy()
    ids = pd.to_numeric(frame["expert_id"].astype(str).str.strip(), errors="coerce")
    if ids.isna().any():
        bad = frame.loc[ids.isna(), "expert_id"].tolist()[:_MAX_EXAMPLES]
        raise ValueError(
            f"expert_reference_roster (data/01_raw/experts.csv): non-integer "
            f"expert_id value(s) {bad}."
        )
    frame["expert_id"] = ids.astype("int64")
    fixes: Counter = Counter()
    for column in PROFILE_TEXT_COLUMNS:
        cleaned = [clean_text(str(v)) for v in frame[column]]
        frame[column] = [text for text, _ in cleaned]
        fixes.update(f"{column}:{kind}" for _, kinds in cleaned for kind in kinds)
    skills = [parse_string_list_cell(v) for v in frame["expert_skills"]]
    frame["expert_skills"] = [list(r.items) for r in skills]
    fixes.update(f"expert_skills:{k}" for r in skills for k in r.defects)
    duplicated = frame["expert_id"].duplicated()
    report = {
        "experts_in_reference": int((~duplicated).sum()),
        "reference_duplicate_ids": sorted(
            int(i) for i in frame.loc[duplicated, "expert_id"]
        ),
        "reference_text_fixes": dict(sorted(fixes.items())),
        "reference_skills_unusable": sum(r.action == DROPPED for r in skills),
    }
    return frame.loc[~duplicated].reset_index(drop=True), report


def compare_profiles(observed: pd.DataFrame, reference: pd.DataFrame) -> dict[str, Any]:
    """Differences between the data-derived and the reference profiles."""
    data_ids, ref_ids = set(observed["expert_id"]), set(reference["expert_id"])
    merged = observed.merge(reference, on="expert_id", suffixes=("_data", "_ref"))
    mismatches = {}
    for column in ROSTER_COLUMNS[1:]:
        differs = [
            int(i)
            for i, a, b in zip(
                merged["expert_id"],
                merged[f"{column}_data"],
                merged[f"{column}_ref"],
                strict=True,
            )
            if _hashable(a) != _hashable(b)
        ]
        mismatches[column] = {
            "experts": len(differs),
            "examples": differs[:_MAX_EXAMPLES],
        }
    return {
        "experts_only_in_data": sorted(int(i) for i in data_ids - ref_ids),
        "experts_only_in_reference": sorted(int(i) for i in ref_ids - data_ids),
        "field_mismatches_after_cleaning": mismatches,
    }


def build_roster(
    rows: pd.DataFrame, reference: pd.DataFrame, authoritative_source: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Build the expert roster from the match rows and the reference roster.

    Args:
        rows: Clean match rows with profile columns.
        reference: The reference roster as loaded (``experts.csv``).
        authoritative_source: ``"reference"`` (profiles from experts.csv, data
            profiles only for experts it lacks) or ``"data"`` (most frequent
            cleaned profile observed in the export).

    Returns:
        The roster (columns ``ROSTER_COLUMNS``, one row per expert, sorted by id)
        and the roster section of the data-quality report.

    Raises:
        ValueError: For an unknown ``authoritative_source``.
    """
    if authoritative_source not in AUTHORITATIVE_SOURCES:
        raise ValueError(
            f"Parameter roster.authoritative_source={authoritative_source!r}: use one "
            f"of {AUTHORITATIVE_SOURCES}."
        )
    observed, observed_report = observed_profiles(rows)
    ref, ref_report = clean_reference(reference)
    comparison = compare_profiles(observed, ref)
    if authoritative_source == "reference":
        extra = observed[~observed["expert_id"].isin(ref["expert_id"])]
        roster = pd.concat([ref, extra], ignore_index=True)
        if len(extra):
            logger.warning(
                "%d expert(s) missing from experts.csv; using their profile from the "
                "data: %s",
                len(extra),
                extra["expert_id"].tolist(),
            )
    else:
        roster = observed
    roster = roster.sort_values("expert_id").reset_index(drop=True)
    roster = roster.loc[:, list(ROSTER_COLUMNS)]
    report = {
        "authoritative_source": authoritative_source,
        "experts_in_roster": len(roster),
        **observed_report,
        **ref_report,
        **comparison,
    }
    return roster, report

"""Expert roster: one profile per expert, checked against the reference roster.

Profiles are observed in every match row, so the same expert appears many times,
sometimes with damaged text. The roster keeps one row per expert and reports
inconsistencies. ``experts.csv`` is documented as clean, so by default it is the
authoritative source for the profile text; the data-derived profile is used only for
experts the reference lacks. Those are flagged in the roster
(``listed_in_reference`` is False), logged and reported, and an expert missing from
the reference whose name is a reference expert's is called out by name: it is most
likely a mistyped id, and would otherwise be recommendable as a second expert of the
same name without anyone noticing.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pandas as pd

from expert_kedro.identifiers import sort_by_ids, sorted_ids
from expert_kedro.preprocessing.cleaning import PROFILE_TEXT_COLUMNS
from expert_kedro.preprocessing.parsing import (
    DROPPED,
    clean_text,
    parse_string_list_cell,
)
from expert_kedro.preprocessing.raw_checks import check_id_columns, check_raw_columns

logger = logging.getLogger(__name__)

ROSTER_COLUMNS = ("expert_id", *PROFILE_TEXT_COLUMNS, "expert_skills")
AUTHORITATIVE_SOURCES = ("reference", "data")
#: Roster flag: False for an expert that ``experts.csv`` does not list.
LISTED_IN_REFERENCE = "listed_in_reference"
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
            {"expert_id": str(expert_id)}
            | {column: _mode(group[column]) for column in ROSTER_COLUMNS[1:]}
            for expert_id, group in rows.groupby("expert_id", sort=False)
        ],
        columns=list(ROSTER_COLUMNS),
    )
    profiles = sort_by_ids(profiles, ["expert_id"]).reset_index(drop=True)
    variants = {}
    for column in ROSTER_COLUMNS[1:]:
        distinct = rows.groupby("expert_id")[column].agg(
            lambda s: len({_hashable(v) for v in s})
        )
        variants[column] = int(distinct.gt(1).sum())
    names = rows.groupby("expert_id")["expert_name"].agg(lambda s: sorted(set(s)))
    conflicts = {str(i): n for i, n in names.items() if len(n) > 1}
    if conflicts:
        logger.warning("Expert IDs carrying several names: %s", conflicts)
    return profiles, {
        "experts_in_data": len(profiles),
        "experts_with_field_variants": variants,
        "name_conflicts": conflicts,
    }


def clean_reference(reference: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse and check the reference roster (``experts.csv``).

    Ids stay the text of their cell; a row whose expert_id cannot identify anyone
    (empty, a placeholder) is dropped, counted and named by row.

    Raises:
        ValueError: If a column is missing.
    """
    check_raw_columns(reference, ROSTER_COLUMNS, "expert_reference_roster")
    frame, id_report = check_id_columns(
        reference.loc[:, list(ROSTER_COLUMNS)], ["expert_id"], "expert_reference_roster"
    )
    frame = frame.reset_index(drop=True)
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
        "reference_invalid_id_rows_dropped": id_report["invalid_id_rows_dropped"],
        "reference_invalid_id_rows": id_report["invalid_id_rows"],
        "reference_duplicate_ids": sorted_ids(frame.loc[duplicated, "expert_id"]),
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
            str(i)
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
        "experts_only_in_data": sorted_ids(data_ids - ref_ids),
        "experts_only_in_reference": sorted_ids(ref_ids - data_ids),
        "field_mismatches_after_cleaning": mismatches,
    }


def _name_key(name: Any) -> str:
    return " ".join(str(name).casefold().split())


def unreferenced_experts(
    observed: pd.DataFrame, reference: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """Experts of the export that ``experts.csv`` lacks, and reference namesakes.

    Returns:
        Expert id -> ``{"name", "reference_namesakes"}`` (ids of reference
        experts with the same name, case and spacing ignored), in id order.
    """
    by_name: dict[str, list[str]] = {}
    for expert_id, name in zip(reference["expert_id"], reference["expert_name"]):
        by_name.setdefault(_name_key(name), []).append(str(expert_id))
    extra = observed[~observed["expert_id"].isin(reference["expert_id"])]
    found = {
        str(expert_id): {
            "name": name,
            "reference_namesakes": sorted_ids(by_name.get(_name_key(name), [])),
        }
        for expert_id, name in zip(extra["expert_id"], extra["expert_name"])
    }
    if found:
        logger.warning(
            "%d expert(s) of the export are missing from experts.csv; their profile "
            "comes from the match rows and they are flagged in the roster "
            "(%s=False): %s",
            len(found),
            LISTED_IN_REFERENCE,
            sorted_ids(found),
        )
    for expert_id, entry in found.items():
        if entry["reference_namesakes"]:
            logger.warning(
                "expert_id %r (missing from experts.csv) carries the name %r of "
                "reference expert(s) %s: check the expert_id in the export; it is "
                "kept as a separate expert.",
                expert_id,
                entry["name"],
                entry["reference_namesakes"],
            )
    return {k: found[k] for k in sorted_ids(found)}


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
        The roster (``ROSTER_COLUMNS`` and ``listed_in_reference``, one row per
        expert, in id order) and the roster section of the data-quality report.

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
    unreferenced = unreferenced_experts(observed, ref)
    if authoritative_source == "reference":
        extra = observed[observed["expert_id"].isin(list(unreferenced))]
        roster = pd.concat([ref, extra], ignore_index=True)
    else:
        roster = observed
    roster = sort_by_ids(roster, ["expert_id"]).reset_index(drop=True)
    roster = roster.loc[:, list(ROSTER_COLUMNS)]
    roster[LISTED_IN_REFERENCE] = roster["expert_id"].isin(ref["expert_id"])
    report = {
        "authoritative_source": authoritative_source,
        "experts_in_roster": len(roster),
        **observed_report,
        **ref_report,
        **comparison,
        "experts_missing_from_reference": unreferenced,
    }
    return roster, report

"""Nodes of the data_processing pipeline.

From the raw export to clean matches, the expert roster, a leak-free project split,
evaluation projects and instruction pairs, with a data-quality report gathering every
count along the way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.identifiers import sorted_ids
from expert_kedro.preprocessing.cleaning import clean_rows
from expert_kedro.preprocessing.frames import as_lists
from expert_kedro.preprocessing.roster import build_roster
from expert_kedro.preprocessing.settings import RosterSettings, SplitSettings
from expert_kedro.preprocessing.splitting import (
    SPLITS,
    assign_splits,
    ensure_train_coverage,
    group_projects,
)
from expert_kedro.training_data.pairs import build_split_pairs, evaluation_projects
from expert_kedro.training_data.settings import PairsSettings

logger = logging.getLogger(__name__)

MATCH_COLUMNS = (
    "project_id",
    "project_title",
    "client_type",
    "created_at",
    "agenda",
    "responses",
    "expert_id",
)


def clean_expert_data(
    expert_data_raw: pd.DataFrame,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse, repair and de-duplicate the raw (project, expert) export.

    Args:
        expert_data_raw: The export, one row per (project, matched expert), all
            cells as text.

    Returns:
        Clean rows (match columns plus profile columns and ``agenda_source``) and
        the cleaning section of the data-quality report.
    """
    return clean_rows(expert_data_raw)


def select_clean_matches(clean_expert_rows: pd.DataFrame) -> pd.DataFrame:
    """Keep the match columns (profiles live in the roster).

    Args:
        clean_expert_rows: Output of :func:`clean_expert_data`.

    Returns:
        One row per (project_id, expert_id): project fields, ``agenda`` (list of
        questions), ``responses`` (list of question/answer dicts), ``expert_id``.
    """
    return clean_expert_rows.loc[:, list(MATCH_COLUMNS)].reset_index(drop=True)


def build_expert_roster(
    clean_expert_rows: pd.DataFrame,
    expert_reference_roster: pd.DataFrame,
    roster_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One profile per expert, cross-checked against ``experts.csv``.

    Args:
        clean_expert_rows: Clean rows with profile columns.
        expert_reference_roster: The clean reference roster as loaded.
        roster_params: ``roster`` parameters (``authoritative_source``).

    Returns:
        The roster and the roster section of the data-quality report.
    """
    settings = RosterSettings.from_params(roster_params)
    return build_roster(
        clean_expert_rows, expert_reference_roster, settings.authoritative_source
    )


def _require_every_split(
    counts: pd.Series, projects: int, fractions: Mapping[str, float]
) -> None:
    """Stop before any model work when a split asked for is left without projects.

    Tuning reads validation projects and evaluation test projects; an export too
    small for the requested fractions would otherwise fail later, in a node that
    cannot say why. A split whose fraction is 0 is meant to stay empty.

    Raises:
        ValueError: Naming the empty split(s), the counts and the remedies.
    """
    empty = [s for s in SPLITS if fractions[s] > 0 and not counts.get(s, 0)]
    if empty:
        per_split = ", ".join(f"{s} {int(counts.get(s, 0))}" for s in SPLITS)
        raise ValueError(
            f"The project split left no {' and no '.join(empty)} project: the export "
            f"has {projects} project(s) ({per_split}) for the fractions {fractions}. "
            "Tuning needs validation projects and evaluation test projects: add "
            "projects to the export (for a Stack Exchange import: a smaller "
            "stackexchange.profile_share or a larger stackexchange.roster_size) or "
            "change split.fractions."
        )


def split_projects(
    clean_matches: pd.DataFrame, split_params: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Assign every project to train, validation or test.

    Projects sharing an agenda (identical, or one contained in another) move
    together; two-expert projects are split as one unit; with
    ``ensure_train_coverage`` every expert keeps at least one training project.

    Args:
        clean_matches: Clean match rows.
        split_params: ``split`` parameters (``seed``, ``fractions``,
            ``ensure_train_coverage``).

    Returns:
        ``project_splits`` (project_id, split) and the split report.
    """
    settings = SplitSettings.from_params(split_params)
    fractions = settings.fractions.as_dict()
    clean_matches = as_lists(clean_matches, ["agenda"])
    agendas = {
        str(p): g["agenda"].iloc[0]
        for p, g in clean_matches.groupby("project_id", sort=False)
    }
    groups, group_report = group_projects(agendas)
    assignment = assign_splits(groups, fractions, settings.seed)
    moved: list[str] = []
    if settings.ensure_train_coverage:
        experts = clean_matches.groupby("project_id")["expert_id"].agg(list).to_dict()
        assignment, moved = ensure_train_coverage(assignment, groups, experts)
    splits = pd.DataFrame(
        [(p, assignment[p]) for p in sorted_ids(assignment)],
        columns=["project_id", "split"],
    ).astype({"project_id": "str", "split": "str"})
    counts = splits["split"].value_counts()
    _require_every_split(counts, len(splits), fractions)
    report = {
        "seed": settings.seed,
        "requested_fractions": fractions,
        "projects_per_split": {s: int(counts.get(s, 0)) for s in SPLITS},
        "realised_fractions": {
            s: round(int(counts.get(s, 0)) / max(len(splits), 1), 4) for s in SPLITS
        },
        "split_groups": len(set(groups.values())),
        "experts_moved_to_train_for_coverage": moved,
        **group_report,
    }
    logger.info("Project split: %s", report["projects_per_split"])
    return splits, report


def _with_split(
    clean_matches: pd.DataFrame, project_splits: pd.DataFrame
) -> pd.DataFrame:
    merged = clean_matches.merge(project_splits, on="project_id", how="left")
    missing = merged["split"].isna()
    if missing.any():
        raise ValueError(
            "project_splits has no split for project_id(s) "
            f"{sorted_ids(merged.loc[missing, 'project_id'])[:10]}; "
            "rerun split_projects_node."
        )
    return merged


def build_evaluation_projects(
    clean_matches: pd.DataFrame, project_splits: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validation and test projects with their acceptable experts.

    Args:
        clean_matches: Clean match rows.
        project_splits: Project -> split.

    Returns:
        ``validation_projects`` and ``test_projects``: project_id, project_title,
        agenda, acceptable_expert_ids (every expert matched to the project).
    """
    merged = _with_split(as_lists(clean_matches, ["agenda"]), project_splits)
    return (
        evaluation_projects(merged[merged["split"] == "validation"]),
        evaluation_projects(merged[merged["split"] == "test"]),
    )


def build_instruction_pairs(
    clean_matches: pd.DataFrame,
    project_splits: pd.DataFrame,
    expert_roster: pd.DataFrame,
    pairs_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Instruction pairs (formatted agenda -> expert target) for each split.

    Args:
        clean_matches: Clean match rows.
        project_splits: Project -> split.
        expert_roster: Authoritative expert profiles.
        pairs_params: ``pairs`` parameters (``output_format``, ``include_title``,
            ``system_prompts``, ``rationale_max_answers``).

    Returns:
        ``train_pairs``, ``validation_pairs``, ``test_pairs`` and the pairs report.
    """
    settings = PairsSettings.from_params(pairs_params)
    merged = _with_split(
        as_lists(clean_matches, ["agenda", "responses"]), project_splits
    )
    roster = as_lists(expert_roster, ["expert_skills"])
    pairs = {
        split: build_split_pairs(merged[merged["split"] == split], roster, settings)
        for split in SPLITS
    }
    report = {
        "output_format": settings.output_format,
        "include_title": settings.include_title,
        "pairs_per_split": {s: len(p) for s, p in pairs.items()},
        "experts_per_split": {
            s: int(p["expert_id"].nunique()) for s, p in pairs.items()
        },
    }
    logger.info("Instruction pairs per split: %s", report["pairs_per_split"])
    return pairs["train"], pairs["validation"], pairs["test"], report


def compile_data_quality_report(
    cleaning_report: dict[str, Any],
    roster_report: dict[str, Any],
    split_report: dict[str, Any],
    pairs_report: dict[str, Any],
) -> dict[str, Any]:
    """Gather the sections into the versioned data-quality report."""
    return {
        "cleaning": cleaning_report,
        "roster": roster_report,
        "split": split_report,
        "pairs": pairs_report,
    }

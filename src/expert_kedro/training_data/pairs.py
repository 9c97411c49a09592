"""Instruction pairs: formatted agenda in, expert target text out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from expert_kedro.identifiers import as_id, sort_by_ids, sorted_ids
from expert_kedro.training_data.formatting import format_agenda
from expert_kedro.training_data.settings import PairsSettings
from expert_kedro.training_data.targets import format_target

PAIR_COLUMNS = (
    "project_id",
    "expert_id",
    "agenda",
    "system",
    "input",
    "output",
    "source",
)


def make_pair(
    *,
    project_id: str,
    profile: Mapping[str, Any],
    agenda: Sequence[str],
    responses: Sequence[Mapping[str, str]],
    title: str | None,
    settings: PairsSettings,
    source: str,
) -> dict[str, Any]:
    """One training example for ``profile``'s expert on ``agenda``.

    Args:
        project_id: Project the agenda comes from.
        profile: Roster row of the expert.
        agenda: Questions shown in the input (full or partial agenda).
        responses: The expert's answers on that project (rationale format).
        title: Project title, shown only if ``pairs.include_title``.
        settings: The ``pairs`` settings.
        source: ``"original"`` or ``"partial"``.
    """
    return {
        "project_id": as_id(project_id),
        "expert_id": as_id(profile["expert_id"]),
        "agenda": list(agenda),
        "system": settings.system_prompt,
        "input": format_agenda(agenda, title if settings.include_title else None),
        "output": format_target(
            profile,
            agenda,
            responses,
            settings.output_format,
            settings.rationale_max_answers,
        ),
        "source": source,
    }


def roster_lookup(roster: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Expert id -> roster row as a dict."""
    return {as_id(r["expert_id"]): r for r in roster.to_dict(orient="records")}


def profile_for(
    profiles: Mapping[str, dict[str, Any]], expert_id: str
) -> dict[str, Any]:
    """Roster row of an expert.

    Raises:
        ValueError: If the expert is missing from the roster.
    """
    try:
        return profiles[as_id(expert_id)]
    except KeyError:
        raise ValueError(
            f"expert_id {expert_id!r} appears in clean_matches but not in "
            "expert_roster."
        ) from None


def build_split_pairs(
    matches: pd.DataFrame,
    roster: pd.DataFrame,
    settings: PairsSettings,
) -> pd.DataFrame:
    """Pairs for every (project, expert) row of ``matches``, in id order."""
    profiles = roster_lookup(roster)
    records = [
        make_pair(
            project_id=row["project_id"],
            profile=profile_for(profiles, row["expert_id"]),
            agenda=row["agenda"],
            responses=row["responses"],
            title=row["project_title"],
            settings=settings,
            source="original",
        )
        for row in sort_by_ids(matches, ["project_id", "expert_id"]).to_dict("records")
    ]
    return pd.DataFrame(records, columns=list(PAIR_COLUMNS))


def evaluation_projects(matches: pd.DataFrame) -> pd.DataFrame:
    """One row per project (in id order), its agenda and every acceptable expert.

    ``created_at`` comes along: when the project was asked tells the candidate
    stage's recent-activity signal which bookings came before it.
    """
    records = [
        {
            "project_id": as_id(project_id),
            "project_title": group["project_title"].iloc[0],
            "created_at": group["created_at"].iloc[0] if "created_at" in group else "",
            "agenda": list(group["agenda"].iloc[0]),
            "acceptable_expert_ids": sorted_ids(group["expert_id"]),
        }
        for project_id, group in sort_by_ids(matches, ["project_id"]).groupby(
            "project_id", sort=False
        )
    ]
    return pd.DataFrame(
        records,
        columns=[
            "project_id",
            "project_title",
            "created_at",
            "agenda",
            "acceptable_expert_ids",
        ],
    )

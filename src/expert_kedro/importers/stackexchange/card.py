"""The import report and the data card (markdown) of one imported site."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from .settings import StackExchangeSettings

ATTRIBUTION = (
    "Source: Stack Exchange questions and answerers in the pre-processed "
    '"NeRankFormat" of the team2box project (github.com/team-formation/team2box, '
    "`data/<site>/NeRankFormat/`, MIT-licensed code). The text is Stack Exchange user "
    "content, licensed CC BY-SA (Stack Exchange, Inc. and its contributors); "
    "anything derived from it, these files included, carries the same licence and "
    "this attribution."
)


def import_report(
    sources: Mapping[str, Any],
    cut: Mapping[str, Any],
    roster: Mapping[str, Any],
    projects: Mapping[str, Any],
    settings: StackExchangeSettings,
) -> dict[str, Any]:
    """Every count of the import in one JSON-ready mapping."""
    return {
        "site": settings.site,
        "attribution": ATTRIBUTION,
        "settings": asdict(settings),
        "sources": dict(sources),
        "time_cut": dict(cut),
        "roster": dict(roster),
        "projects": dict(projects),
    }


def _table(counts: Mapping[str, Any]) -> list[str]:
    lines = ["| item | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in counts.items()]
    return lines


def data_card(report: Mapping[str, Any]) -> str:
    """Render the import report as the site's data card.

    Args:
        report: Output of :func:`import_report`.

    Returns:
        Markdown: attribution, what a row means, the time cut, the counts and the
        fields left empty for lack of a source.
    """
    site, cut = report["site"], report["time_cut"]
    roster, projects = report["roster"], report["projects"]
    empty = [*projects["empty_project_fields"], *roster["empty_profile_fields"]]
    lines = [
        f"# Stack Exchange `{site}`: imported expert data",
        "",
        report["attribution"],
        "",
        "## What the files hold",
        "",
        "- `experts.csv`: the roster, the most active answerers of the profile "
        "period; headline, skills (tags), bio and work summary (earliest answered "
        "titles) come from profile-period questions only.",
        "- `expert_data.csv`: one row per (project, roster answerer); a project is a "
        "question asked after the profile period, its agenda the title followed by "
        "the body cut into word windows.",
        f"- Fields left empty (no source in the data): {', '.join(empty)}.",
        "",
        "## Time cut",
        "",
        f"Questions with an id up to {cut['profile_cutoff_question_id']} "
        f"({cut['profile_period_questions']} questions, rule `{cut['rule']}`) only "
        "build profiles and never become projects; the "
        f"{cut['later_questions']} later questions (from id "
        f"{cut['first_later_question_id']}) are the candidate projects. Question ids "
        "grow with time, so no evaluated question reaches a profile.",
        "",
        "## Sources",
        "",
        *_table(report["sources"]),
        "",
        "## Roster",
        "",
        *_table({k: v for k, v in roster.items() if k != "empty_profile_fields"}),
        "",
        "## Projects",
        "",
        *_table({k: v for k, v in projects.items() if k != "empty_project_fields"}),
        "",
        "## Settings",
        "",
        *_table({f"stackexchange.{k}": v for k, v in report["settings"].items()}),
        "",
    ]
    return "\n".join(lines)

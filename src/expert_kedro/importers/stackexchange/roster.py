"""The time cut, and the roster with its profiles built from the profile period only.

Question ids grow with time. The oldest questions form the *profile period*: they
say who the active answerers are and what they know, and they never become
projects. Every later question is a candidate project. The profile functions here
only ever receive profile-period questions, so no evaluated question can reach a
headline, skill list, bio or work summary.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .settings import StackExchangeSettings
from .sources import Question

logger = logging.getLogger(__name__)

# Columns of the roster file (``experts.csv``), in the project's order.
EXPERT_COLUMNS = (
    "expert_id",
    "expert_name",
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
    "expert_skills",
)
# Profile fields Stack Exchange has no source for: written empty.
EMPTY_PROFILE_FIELDS = ("expert_location", "expert_industry")


def split_periods(
    questions: Sequence[Question], settings: StackExchangeSettings
) -> tuple[list[Question], list[Question], dict[str, Any]]:
    """Cut the questions, oldest first, into the profile period and the projects.

    Args:
        questions: Every usable question of the site.
        settings: ``profile_cutoff_id`` if set, else ``profile_share``.

    Returns:
        Profile-period questions, later (candidate project) questions, and the cut.

    Raises:
        ValueError: If either side of the cut would be empty.
    """
    ordered = sorted(questions, key=lambda q: q.question_id)
    if not ordered:
        raise ValueError("The Stack Exchange sources hold no usable question.")
    if settings.profile_cutoff_id is not None:
        cutoff, rule = settings.profile_cutoff_id, "stackexchange.profile_cutoff_id"
    else:
        position = max(1, round(len(ordered) * settings.profile_share))
        cutoff = ordered[position - 1].question_id
        rule = f"stackexchange.profile_share={settings.profile_share}"
    profile = [q for q in ordered if q.question_id <= cutoff]
    later = [q for q in ordered if q.question_id > cutoff]
    if not profile or not later:
        raise ValueError(
            f"The time cut at question id {cutoff} ({rule}) leaves "
            f"{len(profile)} profile-period and {len(later)} later question(s) of "
            f"{len(ordered)} (ids {ordered[0].question_id}..{ordered[-1].question_id});"
            " both must be non-empty."
        )
    report = {
        "rule": rule,
        "profile_cutoff_question_id": int(cutoff),
        "profile_period_questions": len(profile),
        "later_questions": len(later),
        "first_later_question_id": later[0].question_id,
    }
    logger.info("Time cut: %s", report)
    return profile, later, report


def select_roster(
    profile_questions: Sequence[Question], size: int
) -> tuple[list[int], dict[str, Any]]:
    """The ``size`` most active answerers of the profile period.

    Ties are broken by the earlier first answer (the longer-standing member), then
    by the smaller user id, so the roster does not depend on input order.

    Returns:
        Roster user ids, most active first, and the roster report.
    """
    answers: Counter = Counter()
    first_answer: dict[int, int] = {}
    for question in profile_questions:
        for user in question.answerer_ids:
            answers[user] += 1
            first_answer.setdefault(user, question.question_id)
    ranked = sorted(answers, key=lambda u: (-answers[u], first_answer[u], u))
    roster = ranked[:size]
    if len(roster) < size:
        logger.warning(
            "Roster of %d expert(s) instead of %d: the profile period has no more "
            "answerers.",
            len(roster),
            size,
        )
    boundary = answers[roster[-1]] if roster else 0
    report = {
        "answerers_in_profile_period": len(answers),
        "roster_size_requested": size,
        "roster_size": len(roster),
        "roster_min_profile_answers": boundary,
        "roster_max_profile_answers": answers[roster[0]] if roster else 0,
        "answerers_tied_at_boundary_left_out": sum(
            answers[u] == boundary for u in ranked[size:]
        ),
    }
    return roster, report


def _ranked_tags(answered: Sequence[Question]) -> list[tuple[str, int]]:
    """Tags by count, ties by first appearance (the expert's earliest interest)."""
    counts: Counter = Counter()
    first_seen: dict[str, int] = {}
    for question in answered:
        for tag in question.tags:
            counts[tag] += 1
            first_seen.setdefault(tag, len(first_seen))
    return sorted(counts.items(), key=lambda item: (-item[1], first_seen[item[0]]))


def expert_profile(
    expert_id: int, answered: Sequence[Question], settings: StackExchangeSettings
) -> dict[str, str]:
    """The roster row of one expert, from the profile-period questions they answered.

    Args:
        expert_id: The Stack Exchange user id.
        answered: Their answered profile-period questions, oldest first.
        settings: Sizes of the skill list, headline and title quotes.

    Returns:
        Text cells of ``experts.csv`` (skills as a JSON list).
    """
    tags = _ranked_tags(answered)
    skills = [tag for tag, _ in tags[: settings.skills_per_expert]]
    headline = ", ".join(skills[: settings.headline_tags])
    tag_counts = ", ".join(f"{tag} ({n})" for tag, n in tags[: settings.headline_tags])
    titles = [q.title for q in answered[: settings.profile_titles]]
    return {
        "expert_id": str(expert_id),
        "expert_name": f"{settings.site} user {expert_id}",
        "expert_headline": f"Answers {settings.site} Stack Exchange questions on "
        f"{headline or 'untagged topics'}",
        "expert_bio": f"Answered {len(answered)} question(s) on the {settings.site} "
        f"Stack Exchange site"
        + (f", most often tagged {tag_counts}." if tag_counts else "."),
        "expert_work_summary": (
            "Earliest answered questions: " + "; ".join(titles) if titles else ""
        ),
        **dict.fromkeys(EMPTY_PROFILE_FIELDS, ""),
        "expert_skills": json.dumps(skills, ensure_ascii=False),
    }


def build_roster_profiles(
    profile_questions: Sequence[Question], settings: StackExchangeSettings
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The roster file (``experts.csv`` schema) from the profile period.

    Args:
        profile_questions: The profile-period questions only.
        settings: Roster size and profile sizes.

    Returns:
        One row per roster expert (text cells, most active first) and the roster
        report.
    """
    roster, report = select_roster(profile_questions, settings.roster_size)
    answered: dict[int, list[Question]] = {user: [] for user in roster}
    for question in profile_questions:
        for user in question.answerer_ids:
            if user in answered:
                answered[user].append(question)
    rows = [expert_profile(user, answered[user], settings) for user in roster]
    frame = pd.DataFrame(rows, columns=list(EXPERT_COLUMNS))
    report["empty_profile_fields"] = list(EMPTY_PROFILE_FIELDS)
    logger.info(
        "Roster: %d expert(s) with %d..%d profile-period answers",
        report["roster_size"],
        report["roster_min_profile_answers"],
        report["roster_max_profile_answers"],
    )
    return frame, report

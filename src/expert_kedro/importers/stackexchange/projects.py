"""Later questions as projects: an agenda from title + body, experts from the roster.

A question asked after the profile period becomes a project whose agenda is its
title followed by its body cut into question-sized chunks, and whose acceptable
experts are the roster members who answered it. A question no roster member
answered has no acceptable expert; it is dropped and counted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .roster import EXPERT_COLUMNS
from .settings import StackExchangeSettings
from .sources import Question

logger = logging.getLogger(__name__)

# Columns of the match file (``expert_data.csv``), in the project's order.
MATCH_COLUMNS = (
    "project_id",
    "project_title",
    "client_type",
    "created_at",
    "agenda",
    "project_agenda_responses",
    *EXPERT_COLUMNS,
)
# Project fields Stack Exchange (NeRankFormat) has no source for: written empty
# (responses as an empty JSON list: the format keeps no answer text).
EMPTY_PROJECT_FIELDS = ("client_type", "created_at", "project_agenda_responses")


TOPICS_PREFIX = "Topics: "


def chunk_agenda(
    title: str,
    body: str,
    settings: StackExchangeSettings,
    tags: Sequence[str] = (),
) -> tuple[list[str], bool]:
    """An agenda: the title, then the body as word windows standing for questions.

    Bodies lost their punctuation upstream, so there are no sentence ends to cut
    at; fixed windows of ``chunk_words`` keep every item question-sized. A last
    window shorter than ``min_chunk_words`` joins the one before, and a chunk equal
    to an earlier item (bodies often repeat the title) is left out. With
    ``topics_line`` the tags follow the title as one item (none without tags).

    Args:
        title: The question's title.
        body: The question's body (may be empty).
        settings: ``chunk_words``, ``min_chunk_words``, ``max_questions``,
            ``topics_line``.
        tags: The question's tags, in the site's order.

    Returns:
        The agenda (at most ``max_questions`` items) and whether the body was cut.
    """
    words = body.split()
    size = settings.chunk_words
    windows = [words[i : i + size] for i in range(0, len(words), size)]
    if len(windows) > 1 and len(windows[-1]) < settings.min_chunk_words:
        tail = windows.pop()
        windows[-1] = windows[-1] + tail
    topics = [TOPICS_PREFIX + ", ".join(tags)] if settings.topics_line and tags else []
    items = [" ".join(title.split()), *topics] + [" ".join(w) for w in windows]
    agenda = list(dict.fromkeys(item for item in items if item))
    return agenda[: settings.max_questions], len(agenda) > settings.max_questions


def build_match_rows(
    later_questions: Sequence[Question],
    roster_profiles: pd.DataFrame,
    settings: StackExchangeSettings,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The match file: one row per (project, roster answerer).

    Args:
        later_questions: Questions after the profile period.
        roster_profiles: The roster file's rows (``experts.csv`` schema).
        settings: Agenda chunking.

    Returns:
        Rows in the ``expert_data.csv`` schema (text cells; agendas and skills as
        JSON lists) and the projects report.
    """
    profiles = {
        int(row["expert_id"]): row for row in roster_profiles.to_dict("records")
    }
    rows: list[dict[str, str]] = []
    counts = Counter()
    experts_per_project: Counter = Counter()
    for question in later_questions:
        experts = [a for a in question.answerer_ids if a in profiles]
        if not experts:
            counts["dropped_no_roster_answerer"] += 1
            continue
        agenda, cut = chunk_agenda(
            question.title, question.body, settings, question.tags
        )
        counts["agendas_with_body_cut"] += cut
        experts_per_project[len(experts)] += 1
        project = {
            "project_id": str(question.question_id),
            "project_title": question.title,
            "client_type": "",
            "created_at": "",
            "agenda": json.dumps(agenda, ensure_ascii=False),
            "project_agenda_responses": "[]",
        }
        rows.extend(project | profiles[e] for e in experts)
    frame = pd.DataFrame(rows, columns=list(MATCH_COLUMNS))
    lengths = [
        len(json.loads(a)) for a in frame.drop_duplicates("project_id")["agenda"]
    ]
    report = {
        "later_questions": len(later_questions),
        "projects": int(sum(experts_per_project.values())),
        "dropped_no_roster_answerer": counts["dropped_no_roster_answerer"],
        "rows": len(frame),
        "roster_experts_with_projects": int(frame["expert_id"].nunique()),
        "roster_experts_without_projects": len(profiles)
        - int(frame["expert_id"].nunique()),
        "acceptable_experts_per_project": {
            str(k): v for k, v in sorted(experts_per_project.items())
        },
        "agenda_questions_per_project": {
            str(k): v for k, v in sorted(Counter(lengths).items())
        },
        "agendas_with_body_cut": counts["agendas_with_body_cut"],
        "empty_project_fields": list(EMPTY_PROJECT_FIELDS),
    }
    logger.info(
        "Projects: %d kept, %d dropped (no roster answerer), %d rows",
        report["projects"],
        report["dropped_no_roster_answerer"],
        report["rows"],
    )
    return frame, report

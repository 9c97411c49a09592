"""Which list of questions is a row's agenda, when its own cell is damaged.

Every row of a project should carry the same agenda, and each expert's answers
repeat the questions. So a row whose agenda cell is empty, truncated or unusable
takes, in order of preference: its own whole cell, a sibling row's whole cell, the
questions of its own whole answer list, a sibling's, and last the longest partial
list any of them kept (``partial_truncated``, reported as such).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from expert_kedro.preprocessing.parsing import INVALID_ITEM, ParseResult

# Where a row's agenda came from, best first (the order is the preference order).
AGENDA_SOURCES = (
    "agenda_cell",
    "sibling_agenda",
    "responses",
    "sibling_responses",
    "partial_truncated",
)
UNUSABLE = "unusable"


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


def resolve_agendas(
    project_ids: Sequence[str],
    agendas: Sequence[ParseResult],
    responses: Sequence[ParseResult],
) -> tuple[list[list[str] | None], list[str]]:
    """Each row's agenda and where it came from (see :func:`_resolve_row`)."""
    members: dict[str, list[int]] = defaultdict(list)
    for position, project_id in enumerate(project_ids):
        members[project_id].append(position)
    resolved: list[list[str] | None] = []
    sources: list[str] = []
    for position, project_id in enumerate(project_ids):
        siblings = [
            (agendas[i], responses[i]) for i in members[project_id] if i != position
        ]
        agenda, source = _resolve_row(
            (agendas[position], responses[position]), siblings
        )
        resolved.append(agenda)
        sources.append(source)
    return resolved, sources

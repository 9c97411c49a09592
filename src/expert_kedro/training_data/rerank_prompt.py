"""The user turn of a pointwise rerank prompt: the agenda, then one candidate.

Shared by training (:mod:`expert_kedro.training_data.rerank_pairs`) and inference, so
that the model is scored on the layout it was trained on: the numbered agenda, then
the candidate's profile in the fixed ``Expert: <name> (ID <id>)`` layout (with the
candidate's ``Activity:`` line right under the name when shown,
:mod:`~expert_kedro.training_data.activity`), optionally a ``Region: <region>`` line,
optionally an ``Agenda region:`` line, optionally the candidate's past questions
(:class:`~expert_kedro.training_data.expert_history.ExpertHistory`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from expert_kedro.training_data.formatting import format_agenda, format_expert_profile
from expert_kedro.training_data.regions import agenda_regions, expert_region

CANDIDATE_HEADER = "Candidate expert:"
HISTORY_HEADER = "Questions from this expert's past projects:"
REGION_LABEL = "Region"
AGENDA_REGION_LABEL = "Agenda region"


def _agenda_region_line(
    agenda: Sequence[str], candidate: str | None, mode: bool | str
) -> str:
    named = agenda_regions(agenda)
    line = f"{AGENDA_REGION_LABEL}: {', '.join(named) if named else 'none named'}"
    if mode != "compare" or not named:
        return line
    if candidate is None:
        return f"{line} (candidate's region unknown)"
    return f"{line} ({'same as' if candidate in named else 'not'} the candidate's)"


def format_candidate(
    profile: Mapping[str, Any],
    history: Sequence[str] = (),
    *,
    region: bool = False,
    agenda: Sequence[str] | None = None,
    agenda_region: bool | str = False,
    activity: str | None = None,
) -> str:
    """Candidate block of a rerank prompt.

    Args:
        profile: Roster row of the candidate.
        history: Optional past questions of the candidate.
        region: Add a ``Region: <region>`` line after the profile (omitted when
            the location's country has no region).
        agenda: The client's questions (read for ``agenda_region``).
        agenda_region: Add an ``Agenda region:`` line with the regions the agenda
            names (``none named`` when it names none); ``"compare"`` also says
            whether the candidate's region is one of them.
        activity: The candidate's ``Activity:`` line for this agenda, or None.

    Returns:
        The header, the ``Expert:`` line, the optional activity line, the other
        profile lines, the optional region lines, then the optional past questions.
    """
    name_line, _, fields = format_expert_profile(profile).partition("\n")
    # Right under the name: a reader that truncates the candidate block from the
    # end (the cross-encoder's tokenizer) keeps it; the length policy never cuts it.
    lines = [CANDIDATE_HEADER, name_line, *([activity] if activity else []), fields]
    # Only looked up when a line shows it (this runs for every candidate prompt).
    name = (
        expert_region(profile.get("expert_location"))
        if region or agenda_region
        else None
    )
    if region and name is not None:
        # "Berlin, Germany" does not say "Europe" to a small model, while agendas
        # name regions ("Benelux", "GCC", "LATAM"): spell the region out.
        lines.append(f"{REGION_LABEL}: {name}")
    if agenda_region:
        # Next to the candidate's region, so that the model compares two nearby
        # lines instead of finding a country in a long agenda.
        lines.append(_agenda_region_line(agenda or (), name, agenda_region))
    if history:
        lines.append(HISTORY_HEADER)
        lines.extend(f"- {q}" for q in history)
    return "\n".join(lines)


def format_rerank_input(
    agenda: Sequence[str],
    profile: Mapping[str, Any],
    history: Sequence[str] = (),
    *,
    region: bool = False,
    agenda_region: bool | str = False,
    activity: str | None = None,
) -> str:
    """User turn of a pointwise rerank prompt.

    The agenda comes first so that every candidate of one agenda shares the same
    prompt prefix (computed once at inference).

    Args:
        agenda: The client's questions.
        profile: Roster row of the candidate.
        history: Optional past questions of the candidate (see
            :class:`ExpertHistory`).
        region: Add the candidate's ``Region:`` line
            (``recommender.candidate_region``; training and inference must pass
            the same value).
        agenda_region: Add the ``Agenda region:`` line
            (``recommender.agenda_region``: false, true or ``"compare"``).
        activity: The candidate's ``Activity:`` line for this agenda
            (``recommender.candidate_activity``), or None.

    Returns:
        ``"Agenda:\\n1. ...\\n\\nCandidate expert:\\nExpert: <name> (ID <id>)\\n..."``.
    """
    return (
        format_agenda(agenda)
        + "\n\n"
        + format_candidate(
            profile,
            history,
            region=region,
            agenda=agenda,
            agenda_region=agenda_region,
            activity=activity,
        )
    )

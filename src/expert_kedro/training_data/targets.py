"""The target text of a training pair: the expert's profile, or a rationale.

* :func:`format_target` picks the layout of ``pairs.output_format``
  (:data:`OUTPUT_FORMATS`).
* :func:`build_rationale` renders the alternative target: the first line of the
  profile, ``Expert: <name> (ID <expert_id>)``, then a paragraph explaining why the
  expert fits the agenda, built from the profile and the expert's own answers
  (template based, no LLM).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from expert_kedro.training_data.formatting import (
    format_expert_line,
    format_expert_profile,
    one_line,
    skill_list,
)

OUTPUT_FORMATS = ("profile", "rationale")

_WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
# Words that say nothing about the topic; kept short on purpose.
_STOPWORDS = frozenset(
    """about after again also among and any are around back been before being
    between both but can could did does doing down during each for from further
    had has have having here how into its just like main market markets more most
    much next not now over own same should some such than that the their them
    then there these they this those through today under until very was were
    what when where which while who why will with would you your years year""".split()
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS}


def _first_sentence(text: str) -> str:
    return _SENTENCE_END_RE.split(one_line(text), maxsplit=1)[0]


def _rank_skills(skills: list[str], agenda_words: set[str]) -> list[str]:
    scored = [(-len(_words(skill) & agenda_words), i) for i, skill in enumerate(skills)]
    return [skills[i] for score, i in sorted(scored) if score < 0]


def _pick_answers(
    agenda: Sequence[str],
    responses: Sequence[Mapping[str, str]],
    profile_words: set[str],
    max_answers: int,
) -> list[Mapping[str, str]]:
    """Answers to agenda questions that best show the expert's own expertise."""
    in_agenda = {one_line(q) for q in agenda}
    candidates = [
        (i, r)
        for i, r in enumerate(responses)
        if one_line(r.get("question", "")) in in_agenda and r.get("answer")
    ]
    ranked = sorted(
        candidates,
        key=lambda item: (
            -len(_words(item[1]["question"] + " " + item[1]["answer"]) & profile_words),
            item[0],
        ),
    )[:max_answers]
    return [r for _, r in sorted(ranked, key=lambda item: item[0])]


def build_rationale(
    profile: Mapping[str, Any],
    agenda: Sequence[str],
    responses: Sequence[Mapping[str, str]] = (),
    max_answers: int = 2,
) -> str:
    """Explain, in one paragraph, why an expert fits an agenda.

    Built only from the profile and the expert's answers to this agenda: headline,
    location and industry; the skills that share words with the agenda (or the
    first skills when none does); the first sentence of the bio; and up to
    ``max_answers`` of the expert's answers, chosen for their overlap with the
    expert's core profile (skills, headline, first bio sentence), so that answers
    outside the expert's field are left out.

    Args:
        profile: Roster row (see :func:`format_expert_profile`).
        agenda: The questions the target is for (a full or a partial agenda).
        responses: The expert's ``{"question", "answer"}`` items for the project;
            only those whose question is in ``agenda`` are used.
        max_answers: How many answers to quote at most.

    Returns:
        ``Expert: <name> (ID <id>)`` then the paragraph on the second line.
    """
    name = one_line(profile["expert_name"])
    skills = skill_list(profile["expert_skills"])
    agenda_words = _words(" ".join(agenda))
    matched = _rank_skills(skills, agenda_words)[:3]
    sentences = [_fit_sentence(name, profile)]
    if matched:
        sentences.append(
            f"The questions draw directly on their expertise in {_join_words(matched)}."
        )
    elif skills:
        sentences.append(f"Their core expertise covers {_join_words(skills[:3])}.")
    bio = _first_sentence(profile["expert_bio"])
    if bio:
        sentences.append(bio if bio.endswith((".", "!", "?")) else bio + ".")
    # Core expertise only: later bio sentences list side topics ("he also covered
    # X"), whose answers are often the expert's weakest.
    profile_words = _words(" ".join([*skills, str(profile["expert_headline"]), bio]))
    for response in _pick_answers(agenda, responses, profile_words, max_answers):
        sentences.append(
            f'Asked "{response["question"]}", they answered: '
            f'"{one_line(response["answer"])}"'
        )
    return format_expert_line(name, profile["expert_id"]) + "\n" + " ".join(sentences)


def _fit_sentence(name: str, profile: Mapping[str, Any]) -> str:
    """The rationale's first sentence, without the optional fields left empty."""
    head, place, field = (
        one_line(profile.get(c) or "")
        for c in ("expert_headline", "expert_location", "expert_industry")
    )
    tail = [f"{k} {v}" for k, v in (("based in", place), ("working in", field)) if v]
    text = f"{name} fits this agenda" + (f" as {head}" if head else "")
    return text + (", " + " and ".join(tail) if tail else "") + "."


def _join_words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def format_target(
    profile: Mapping[str, Any],
    agenda: Sequence[str],
    responses: Sequence[Mapping[str, str]],
    output_format: str,
    max_answers: int = 2,
) -> str:
    """Target text for one training pair in the requested output format.

    Args:
        profile: Roster row of the expert.
        agenda: The questions of the pair's input.
        responses: The expert's answers for the project (used by ``rationale``).
        output_format: ``"profile"`` or ``"rationale"``.
        max_answers: Answers quoted by the rationale.

    Raises:
        ValueError: For an unknown output format.
    """
    if output_format == "profile":
        return format_expert_profile(profile)
    if output_format == "rationale":
        return build_rationale(profile, agenda, responses, max_answers)
    raise ValueError(
        f"Unknown output format {output_format!r}: use one of {OUTPUT_FORMATS} "
        "(parameter pairs.output_format)."
    )

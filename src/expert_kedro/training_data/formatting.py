"""Text layouts shared by training, inference and evaluation.

* :func:`format_agenda` renders a client's questions as the model input.
* :func:`format_expert_profile` renders an expert as the target text, in a fixed
  layout whose first line, ``Expert: <name> (ID <expert_id>)``, identifies the
  expert unambiguously; :func:`parse_expert_line` and :func:`parse_expert_profile`
  read it back (e.g. from a model generation).
* :func:`build_rationale` renders the alternative target: the same first line, then
  a paragraph explaining why the expert fits the agenda, built from the profile and
  the expert's own answers (template based, no LLM).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from expert_kedro.identifiers import as_id

OUTPUT_FORMATS = ("profile", "rationale")

# Field label -> roster column, in layout order (after the identifying first line).
PROFILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Headline", "expert_headline"),
    ("Location", "expert_location"),
    ("Industry", "expert_industry"),
    ("Skills", "expert_skills"),
    ("Bio", "expert_bio"),
    ("Work history", "expert_work_summary"),
)
SKILL_SEPARATOR = "; "

# The id is whatever stands between "(ID " and the line's closing parenthesis: ids
# are opaque text ("1658", "A-17", "0042"), never parsed as numbers.
_EXPERT_LINE_RE = re.compile(r"^\s*Expert:\s*(?P<name>.+?)\s*\(ID\s*(?P<id>.+?)\)\s*$")
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


@dataclass(frozen=True)
class ExpertRef:
    """An expert identified in a text: display name and roster ID (text)."""

    name: str
    expert_id: str


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def format_agenda(questions: Sequence[str], title: str | None = None) -> str:
    """Render an agenda as numbered questions, optionally under the project title.

    Args:
        questions: The client's questions, in order.
        title: Optional project title shown on a first ``Project:`` line.

    Returns:
        Text such as ``"Agenda:\\n1. First?\\n2. Second?"``.

    Raises:
        ValueError: If there is no question.
    """
    cleaned = [_one_line(q) for q in questions if _one_line(q)]
    if not cleaned:
        raise ValueError("format_agenda: the agenda has no questions to format.")
    lines = [f"Project: {_one_line(title)}"] if title and _one_line(title) else []
    lines.append("Agenda:")
    lines.extend(f"{number}. {question}" for number, question in enumerate(cleaned, 1))
    return "\n".join(lines)


def format_expert_line(name: str, expert_id: str) -> str:
    """The first line of every target, ``Expert: <name> (ID <id>)``, id as written."""
    return f"Expert: {_one_line(name)} (ID {as_id(expert_id)})"


def _skills(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [_one_line(skill) for skill in (value if value is not None else [])]


def format_expert_profile(row: Mapping[str, Any]) -> str:
    """Render an expert profile in the fixed, parseable layout.

    Args:
        row: A roster row with ``expert_id``, ``expert_name`` and the profile
            columns (``expert_headline``, ``expert_location``, ``expert_industry``,
            ``expert_skills`` as a list, ``expert_bio``, ``expert_work_summary``).

    Returns:
        ``Expert: <name> (ID <id>)`` followed by one ``Label: value`` line per
        profile field (Headline, Location, Industry, Skills, Bio, Work history).
    """
    lines = [format_expert_line(row["expert_name"], row["expert_id"])]
    for label, column in PROFILE_FIELDS:
        value = row[column]
        if column == "expert_skills":
            text = SKILL_SEPARATOR.join(_skills(value))
        else:
            text = _one_line(value)
        lines.append(f"{label}: {text}")
    return "\n".join(lines)


def parse_expert_line(text: str) -> ExpertRef | None:
    """Find the first ``Expert: <name> (ID <id>)`` line in a text.

    Args:
        text: A target or a model generation.

    Returns:
        The expert's name and ID, or ``None`` when no line has that shape.
    """
    for line in str(text).splitlines():
        match = _EXPERT_LINE_RE.match(line)
        if match:
            return ExpertRef(match["name"], match["id"])
    return None


def parse_expert_profile(text: str) -> dict[str, Any]:
    """Read a text made by :func:`format_expert_profile` back into roster columns.

    Args:
        text: The profile text.

    Returns:
        A dict with ``expert_id``, ``expert_name`` and every profile column found
        (``expert_skills`` as a list).

    Raises:
        ValueError: If the text has no ``Expert: <name> (ID <id>)`` line.
    """
    ref = parse_expert_line(text)
    if ref is None:
        raise ValueError(
            "parse_expert_profile: no 'Expert: <name> (ID <id>)' line found in "
            f"{str(text)[:80]!r}."
        )
    columns = dict(PROFILE_FIELDS)
    profile: dict[str, Any] = {"expert_id": ref.expert_id, "expert_name": ref.name}
    for line in str(text).splitlines():
        label, sep, value = line.partition(": ")
        if sep and label in columns:
            column = columns[label]
            if column == "expert_skills":
                skills = value.split(SKILL_SEPARATOR.strip())
                profile[column] = [s.strip() for s in skills if s.strip()]
            else:
                profile[column] = value
    return profile


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOPWORDS}


def _first_sentence(text: str) -> str:
    return _SENTENCE_END_RE.split(_one_line(text), maxsplit=1)[0]


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
    in_agenda = {_one_line(q) for q in agenda}
    candidates = [
        (i, r)
        for i, r in enumerate(responses)
        if _one_line(r.get("question", "")) in in_agenda and r.get("answer")
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
    name = _one_line(profile["expert_name"])
    skills = _skills(profile["expert_skills"])
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
            f'"{_one_line(response["answer"])}"'
        )
    return format_expert_line(name, profile["expert_id"]) + "\n" + " ".join(sentences)


def _fit_sentence(name: str, profile: Mapping[str, Any]) -> str:
    """The rationale's first sentence, without the optional fields left empty."""
    head, place, field = (
        _one_line(profile.get(c) or "")
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

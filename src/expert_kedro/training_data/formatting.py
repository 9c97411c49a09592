"""Text layouts shared by training, inference and evaluation.

* :func:`format_agenda` renders a client's questions as the model input.
* :func:`format_expert_profile` renders an expert as the target text, in a fixed
  layout whose first line, ``Expert: <name> (ID <expert_id>)``, identifies the
  expert unambiguously; :func:`parse_expert_line` and :func:`parse_expert_profile`
  read it back (e.g. from a model generation).

The alternative target, a rationale paragraph, and the choice between the two are
in :mod:`expert_kedro.training_data.targets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from expert_kedro.identifiers import as_id

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


@dataclass(frozen=True)
class ExpertRef:
    """An expert identified in a text: display name and roster ID (text)."""

    name: str
    expert_id: str


def one_line(value: Any) -> str:
    """``value`` as text on one line, runs of whitespace made one space."""
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
    cleaned = [one_line(q) for q in questions if one_line(q)]
    if not cleaned:
        raise ValueError("format_agenda: the agenda has no questions to format.")
    lines = [f"Project: {one_line(title)}"] if title and one_line(title) else []
    lines.append("Agenda:")
    lines.extend(f"{number}. {question}" for number, question in enumerate(cleaned, 1))
    return "\n".join(lines)


def format_expert_line(name: str, expert_id: str) -> str:
    """The first line of every target, ``Expert: <name> (ID <id>)``, id as written."""
    return f"Expert: {one_line(name)} (ID {as_id(expert_id)})"


def skill_list(value: Any) -> list[str]:
    """Roster ``expert_skills`` (a list, an array or one string) as a list of text."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [one_line(skill) for skill in (value if value is not None else [])]


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
            text = SKILL_SEPARATOR.join(skill_list(value))
        else:
            text = one_line(value)
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

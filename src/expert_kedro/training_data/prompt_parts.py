"""The parts of a user turn that the length policy cuts, and the cuts themselves.

:mod:`expert_kedro.training_data.prompt_fitting` reads a prompt's user turn back
into units (title, agenda questions, the candidate's profile lines and past
questions), and applies one policy step at a time to them: shorten the longest
units to a shared cap, or drop units from the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from expert_kedro.training_data.formatting import PROFILE_FIELDS
from expert_kedro.training_data.rerank_pairs import CANDIDATE_HEADER, HISTORY_HEADER

QUESTION_FLOOR = 32
"""Opening tokens a question keeps before whole questions are dropped."""
PROFILE_FLOOR = 16
"""Tokens a profile line keeps before the last-resort squeeze."""
_QUESTION_RE = re.compile(r"^(\d+\. )(.*)$")
_PROFILE_PREFIXES = tuple(f"{label}: " for label, _ in PROFILE_FIELDS)


@dataclass
class Unit:
    """One line of the user turn: a fixed prefix and a body the policy may cut."""

    kind: str  # question, history, profile, history_header or fixed
    prefix: str
    body: str
    ids: list[int] = field(default_factory=list)
    head: int = 0  # tokens of the prefix
    keep: int | None = None  # body tokens kept (None: whole)
    dropped: bool = False

    def cost(self, marker: int) -> int:
        if self.dropped:
            return 0
        if self.keep is None:
            return len(self.ids)
        return self.keep + marker


def split_user_turn(user: str) -> list[Unit]:
    """The lines of a user turn, each tagged with the part of the layout it is."""
    units: list[Unit] = []
    candidate = history = False
    for line in user.split("\n"):
        question = None if candidate else _QUESTION_RE.match(line)
        prefix = next((p for p in _PROFILE_PREFIXES if line.startswith(p)), None)
        if line == CANDIDATE_HEADER:
            candidate = True
            units.append(Unit("fixed", "", line))
        elif question:
            units.append(Unit("question", question[1], question[2]))
        elif candidate and line == HISTORY_HEADER:
            history = True
            units.append(Unit("history_header", "", line))
        elif history and line.startswith("- "):
            units.append(Unit("history", "- ", line[2:]))
        elif candidate and not history and prefix:
            units.append(Unit("profile", prefix, line[len(prefix) :]))
        else:
            units.append(Unit("fixed", "", line))
    return units


def _shorten(units: list[Unit], excess: int, floor: int, marker: int) -> int:
    """Cut the longest bodies to one shared length, the largest that removes
    ``excess`` tokens (not below ``floor``); returns the tokens still in excess."""
    live = [u for u in units if not u.dropped]

    def saving(cap: int) -> int:
        return sum(u.cost(marker) - min(u.cost(marker), cap + marker) for u in live)

    if not live or excess <= 0:
        return excess
    low, high = floor, max(u.cost(marker) for u in live)
    if saving(low) < excess:
        cap = low
    else:  # the largest cap in [low, high] whose saving still covers the excess
        while low < high:
            middle = (low + high + 1) // 2
            if saving(middle) >= excess:
                low = middle
            else:
                high = middle - 1
        cap = low
    removed = saving(cap)
    for unit in live:
        if unit.cost(marker) > cap + marker:
            unit.keep = cap
    return excess - removed


def _drop(units: list[Unit], excess: int, marker: int) -> int:
    """Leave out units from the last one back until ``excess`` is covered."""
    for unit in reversed(units):
        if excess <= 0:
            break
        if not unit.dropped:
            excess -= unit.head + unit.cost(marker) + 1  # prefix, body, newline
            unit.dropped = True
    return excess


def apply_step(step: str, units: list[Unit], excess: int, marker: int) -> int:
    def of(kind: str) -> list[Unit]:
        return [u for u in units if u.kind == kind]

    if step in {"drop_history", "squeeze"}:
        excess = _drop(of("history"), excess, marker)
        if all(u.dropped for u in of("history")):
            for header in of("history_header"):  # no header over an empty list
                excess -= 0 if header.dropped else len(header.ids) + 1
                header.dropped = True
    if step == "shorten_questions":
        return _shorten(of("question"), excess, QUESTION_FLOOR, marker)
    if step == "drop_questions":
        return _drop(of("question")[1:], excess, marker)
    if step == "shorten_profile":
        return _shorten(of("profile"), excess, PROFILE_FLOOR, marker)
    if step == "squeeze":
        excess = _shorten(of("question"), excess, 0, marker)
        excess = _drop(of("question")[1:], excess, marker)
        excess = _shorten(of("profile"), excess, 0, marker)
    return excess

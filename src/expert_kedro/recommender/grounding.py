"""Grounding: every recommended expert is a roster expert, every field a roster field.

The language model only *scores* roster experts (or, in the diagnostic free-generation
mode, writes text that is matched back to the roster); profile fields shown to a user
are always copied from ``expert_roster``, never taken from generated text.

* :class:`Roster` - the roster indexed by ``expert_id``; builds the public
  ``recommendations`` rows from ranked ids.
* :func:`match_generation` - read a free generation's first line back to a roster
  expert: exact ``(ID <id>)`` first, then a fuzzy name match; anything else is a
  hallucination and is counted, never returned.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from expert_kedro.identifiers import as_id
from expert_kedro.training_data.formatting import parse_expert_line

PROFILE_COLUMNS: tuple[str, ...] = (
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
    "expert_skills",
)
"""Profile fields copied from the roster into every recommendation row."""

RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "case_id",
    "rank",
    "expert_id",
    "expert_name",
    "score",
    *PROFILE_COLUMNS,
)
"""Public column contract of the ``recommendations`` dataset (``generated_text``
is appended when requested)."""

_ROSTER_COLUMNS = ("expert_id", "expert_name", *PROFILE_COLUMNS)
# "ID <token>" anywhere in a line; the token is only taken if it is a roster id.
_ID_RE = re.compile(r"\bID\s*:?\s*([^\s()\[\],;]+)")


def _name_key(name: str) -> str:
    """Accent-, case- and punctuation-insensitive form of a person's name."""
    folded = unicodedata.normalize("NFKD", str(name))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", ascii_only.lower()).split())


def _skills_text(value: Any) -> str:
    """Skills as one readable string (a list cell, a numpy array or a string)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return "; ".join(str(skill) for skill in value)


@dataclass(frozen=True)
class RosterMatch:
    """How a generated text maps to the roster.

    Attributes:
        expert_id: The matched roster expert, or None (a hallucination).
        method: ``"id"`` (exact roster ID in the text), ``"name"`` (fuzzy name
            match), or ``"none"``.
        generated_name: The name read from the text ("" when none was found).
    """

    expert_id: str | None
    method: str
    generated_name: str

    @property
    def hallucinated(self) -> bool:
        """True when the text names nobody on the roster."""
        return self.expert_id is None


class Roster:
    """The expert roster indexed by ``expert_id`` (the only experts we may return).

    Args:
        expert_roster: The ``expert_roster`` dataset (one row per expert).

    Raises:
        ValueError: If columns are missing, the roster is empty or ids repeat.
    """

    def __init__(self, expert_roster: pd.DataFrame) -> None:
        missing = [c for c in _ROSTER_COLUMNS if c not in expert_roster.columns]
        if missing:
            raise ValueError(
                f"expert_roster lacks column(s) {missing}; found "
                f"{list(expert_roster.columns)}."
            )
        if expert_roster.empty:
            raise ValueError("expert_roster is empty: there is nobody to recommend.")
        frame = expert_roster.reset_index(drop=True).copy()
        frame["expert_id"] = [as_id(v) for v in frame["expert_id"]]
        repeated = frame.loc[frame["expert_id"].duplicated(), "expert_id"].tolist()
        if repeated:
            raise ValueError(f"expert_roster repeats expert_id(s) {repeated[:10]}.")
        self.frame = frame
        self.expert_ids = frame["expert_id"].to_numpy(dtype=object)
        self._records = {
            r["expert_id"]: r for r in frame[list(_ROSTER_COLUMNS)].to_dict("records")
        }
        self._by_name: dict[str, str] = {}
        for expert_id, record in self._records.items():
            self._by_name.setdefault(_name_key(record["expert_name"]), expert_id)

    def __len__(self) -> int:
        return len(self.expert_ids)

    def __contains__(self, expert_id: object) -> bool:
        try:
            return as_id(expert_id) in self._records
        except TypeError:
            return False

    def profile(self, expert_id: str) -> dict[str, Any]:
        """The roster row of one expert (a copy).

        Raises:
            KeyError: If the expert is not on the roster.
        """
        try:
            return dict(self._records[as_id(expert_id)])
        except (KeyError, TypeError):
            raise KeyError(f"expert_id {expert_id!r} is not on the roster.") from None

    def match_name(self, name: str, cutoff: float = 0.85) -> str | None:
        """Roster expert whose name matches ``name`` (exact key, then fuzzy).

        Args:
            name: A person's name, e.g. read from a generation.
            cutoff: Minimum ``difflib`` similarity ratio of the fuzzy match; high on
                purpose, since a wrong expert is worse than no expert.

        Returns:
            The expert id, or None.
        """
        key = _name_key(name)
        if not key:
            return None
        if key in self._by_name:
            return self._by_name[key]
        close = difflib.get_close_matches(key, list(self._by_name), n=1, cutoff=cutoff)
        return self._by_name[close[0]] if close else None

    def recommendation_rows(
        self,
        case_id: Any,
        expert_ids: Sequence[str],
        scores: Sequence[float],
    ) -> list[dict[str, Any]]:
        """Rows of the ``recommendations`` table for one case, best first.

        Args:
            case_id: The agenda's identifier.
            expert_ids: Ranked roster expert ids.
            scores: Their scores (same order).

        Returns:
            One dict per rank with :data:`RECOMMENDATION_COLUMNS`; skills are a
            ``"; "``-joined string so the CSV stays one cell per field.

        Raises:
            ValueError: If an id is not on the roster or ids repeat (grounding
                violation: this must never happen).
        """
        ids = [as_id(i) for i in expert_ids]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Ranking for case {case_id!r} repeats experts: {ids}.")
        unknown = [i for i in ids if i not in self._records]
        if unknown:
            raise ValueError(
                f"Ranking for case {case_id!r} holds expert_id(s) {unknown} that are "
                "not on the roster; grounded recommenders return roster experts only."
            )
        rows = []
        for rank, (expert_id, score) in enumerate(zip(ids, scores, strict=True), 1):
            record = self._records[expert_id]
            row = {
                "case_id": case_id,
                "rank": rank,
                "expert_id": expert_id,
                "expert_name": record["expert_name"],
                "score": float(score),
            }
            for column in PROFILE_COLUMNS:
                value = record[column]
                is_list = column == "expert_skills"
                row[column] = _skills_text(value) if is_list else value
            rows.append(row)
        return rows

    def match_generation(self, text: str) -> RosterMatch:
        """Map a free generation to a roster expert; see :func:`match_generation`."""
        return match_generation(text, self)


def match_generation(text: str, roster: Roster) -> RosterMatch:
    """Read the expert a generated text names and map it to the roster.

    Order: the ``Expert: <name> (ID <id>)`` line's ID if it is a roster ID; else that
    line's name, fuzzily; else any ``ID <id>`` in the first line that is a roster ID.

    Args:
        text: A model generation (diagnostic, unconstrained mode).
        roster: The roster.

    Returns:
        A :class:`RosterMatch`; ``expert_id`` is None for a hallucinated expert.
    """
    ref = parse_expert_line(text)
    if ref is not None:
        if ref.expert_id in roster:
            return RosterMatch(ref.expert_id, "id", ref.name)
        by_name = roster.match_name(ref.name)
        if by_name is not None:
            return RosterMatch(by_name, "name", ref.name)
        return RosterMatch(None, "none", ref.name)
    first_line = next((line for line in str(text).splitlines() if line.strip()), "")
    for found in _ID_RE.findall(first_line):
        # "ID 1658." ends a sentence: the id may not take the full stop with it.
        for candidate in (found, found.rstrip(".:!?")):
            if candidate in roster:
                return RosterMatch(candidate, "id", "")
    return RosterMatch(None, "none", first_line.strip()[:80])


def hallucination_summary(matches: Sequence[RosterMatch]) -> dict[str, Any]:
    """Counts of how free generations map to the roster.

    Args:
        matches: One match per generation.

    Returns:
        ``n``, ``matched_by_id``, ``matched_by_name``, ``hallucinated`` and
        ``hallucination_rate``.
    """
    n = len(matches)
    hallucinated = sum(m.hallucinated for m in matches)
    return {
        "n": n,
        "matched_by_id": sum(m.method == "id" for m in matches),
        "matched_by_name": sum(m.method == "name" for m in matches),
        "hallucinated": hallucinated,
        "hallucination_rate": hallucinated / n if n else 0.0,
    }


def roster_lookup(expert_roster: pd.DataFrame) -> Mapping[str, dict[str, Any]]:
    """Expert id -> roster row, for callers that only need the mapping."""
    return {as_id(r["expert_id"]): r for r in expert_roster.to_dict("records")}

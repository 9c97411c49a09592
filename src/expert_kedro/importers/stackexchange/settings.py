"""The ``stackexchange`` parameter group, validated once into a frozen object."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

BAD_LINE_POLICIES = ("error", "skip")
_SITE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]*")


def _as_bool(value: Any) -> bool:
    """Only true/false: ``bool("false")`` would silently be True."""
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


# Parameter -> (conversion, what it expects); any other parameter is an integer.
_CASTS = {
    "site": (str, "site name"),
    "profile_share": (float, "number"),
    "self_answers": (_as_bool, "boolean (true/false)"),
    "topics_line": (_as_bool, "boolean (true/false)"),
    "bad_lines": (str, "policy name"),
}


@dataclass(frozen=True)
class StackExchangeSettings:
    """Validated ``stackexchange`` parameters (each default lives here).

    Attributes:
        site: Folder name of the site under ``data/01_raw/stackexchange/`` (the
            catalog builds its paths from the same value).
        roster_size: Experts on the roster: the most active answerers of the
            profile period (ties: earlier first answer, then smaller user id).
        profile_share: Share of the questions, oldest first, that only build
            profiles and never become projects. Question ids grow with time, so
            every project is later than every question a profile is built from.
        profile_cutoff_id: Explicit cut instead of ``profile_share``: questions
            with an id up to this one form the profile period.
        self_answers: Whether an answer by the question's owner counts. The asker
            is the client, not an outside expert, so by default it does not.
        skills_per_expert: Most frequent profile-period tags kept as skills.
        headline_tags: Tags named in the headline.
        profile_titles: Earliest answered titles quoted in the work summary.
        max_questions: Agenda length: the title plus body chunks up to this many
            (the rest of a long body is cut and counted).
        chunk_words: Words per body chunk. Bodies lost their punctuation upstream,
            so a chunk is a word window standing in for one question.
        min_chunk_words: A shorter last chunk is merged into the one before.
        topics_line: Whether the agenda's second item names the question's tags
            (``Topics: mysql, replication``). The asker chose them when asking,
            so they are known whenever the question is; the roster's skills come
            from the same tags, so the line gives the retriever and the reranker
            the vocabulary the profiles are written in. It takes one of the
            ``max_questions`` items.
        bad_lines: ``error`` (a malformed source line stops the import, naming the
            file and line) or ``skip`` (it is dropped, counted and logged).
    """

    site: str = "dba"
    roster_size: int = 150
    profile_share: float = 0.3
    profile_cutoff_id: int | None = None
    self_answers: bool = False
    skills_per_expert: int = 8
    headline_tags: int = 3
    profile_titles: int = 5
    max_questions: int = 6
    chunk_words: int = 25
    min_chunk_words: int = 6
    topics_line: bool = False
    bad_lines: str = "error"

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.site, str) or not _SITE_RE.fullmatch(self.site):
            problems.append(
                f"site={self.site!r} must be a folder name such as 'dba' "
                "(lower-case letters, digits, '.', '_', '-')"
            )
        for name in (
            "roster_size",
            "skills_per_expert",
            "headline_tags",
            "max_questions",
            "chunk_words",
        ):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name}={getattr(self, name)!r} must be >= 1")
        if self.profile_titles < 0:
            problems.append(f"profile_titles={self.profile_titles!r} must be >= 0")
        if not 0 <= self.min_chunk_words <= self.chunk_words:
            problems.append(
                f"min_chunk_words={self.min_chunk_words!r} must lie in "
                f"0..chunk_words ({self.chunk_words})"
            )
        if self.profile_cutoff_id is None and not 0 < self.profile_share < 1:
            problems.append(
                f"profile_share={self.profile_share!r} must lie strictly between 0 "
                "and 1 (some questions build profiles, the later ones are projects)"
            )
        if self.profile_cutoff_id is not None and self.profile_cutoff_id < 0:
            problems.append(
                f"profile_cutoff_id={self.profile_cutoff_id!r} must be >= 0"
            )
        if self.bad_lines not in BAD_LINE_POLICIES:
            problems.append(
                f"bad_lines={self.bad_lines!r}: use one of {BAD_LINE_POLICIES}"
            )
        if problems:
            raise ValueError(
                "Invalid stackexchange parameter(s): " + "; ".join(problems) + "."
            )

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> StackExchangeSettings:
        """Build from the ``stackexchange`` parameter group.

        Raises:
            ValueError: Naming an unknown or invalid ``stackexchange.*`` parameter.
        """
        params = dict(params or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"Unknown stackexchange parameter(s) {unknown}; known: {sorted(known)}."
            )
        values = {}
        for name, value in params.items():
            if name == "profile_cutoff_id" and value is None:
                values[name] = None
                continue
            cast, kind = _CASTS.get(name, (int, "integer"))
            try:
                values[name] = cast(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Parameter stackexchange.{name}={value!r} is not a valid {kind}."
                ) from None
        return cls(**values)

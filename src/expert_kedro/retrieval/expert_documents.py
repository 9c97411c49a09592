"""What the retrievers know about each roster expert, built from the TRAIN split only.

An expert is described by their profile (headline, bio, work history, location,
industry), their skills, and the agendas of the training projects they were matched
to (optionally also their answers to those agendas). Agendas are the strongest signal:
experts who share a topic differ by region and function, and past agendas tell which
region/function mix a given expert is booked for.

``leakage.check_no_leakage`` guards the evaluation: no validation or test project (by
id or by identical agenda) may be part of the index.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id
from expert_kedro.retrieval.base import (
    agenda_digest,
    agenda_text,
    as_text_list,
    require_columns,
)
from expert_kedro.retrieval.timeline import Timeline

logger = logging.getLogger(__name__)

_ROSTER_COLUMNS = (
    "expert_id",
    "expert_headline",
    "expert_bio",
    "expert_work_summary",
    "expert_location",
    "expert_industry",
    "expert_skills",
)
_PAIR_COLUMNS = ("project_id", "expert_id", "agenda")


@dataclass(frozen=True)
class ExpertDocuments:
    """Per-expert texts a retriever indexes, aligned with ``expert_ids``.

    Attributes:
        expert_ids: Roster expert ids; the column order of every score matrix.
        profiles: Profile text (headline, bio, work history, location, industry).
        skills: Skills of each expert, joined as one text.
        agendas: Training agendas of each expert (each agenda a list of questions).
        answers: Training answers of each expert (empty lists unless requested).
        indexed_project_ids: Every project whose agenda or answers are indexed.
        timeline: The training bookings in time order (recent activity); None when
            no project time is known.
    """

    expert_ids: np.ndarray
    profiles: list[str]
    skills: list[str]
    agendas: list[list[list[str]]]
    answers: list[list[str]] = field(default_factory=list)
    indexed_project_ids: frozenset[str] = frozenset()
    timeline: Timeline | None = None

    def bm25_texts(self) -> list[str]:
        """One BM25 document per expert: profile, skills, agendas and answers."""
        answers = self.answers or [[] for _ in self.expert_ids]
        return [
            " ".join(
                [profile, skills]
                + [agenda_text(agenda) for agenda in agendas]
                + list(expert_answers)
            )
            for profile, skills, agendas, expert_answers in zip(
                self.profiles, self.skills, self.agendas, answers, strict=True
            )
        ]

    def indexed_agenda_digests(self) -> set[str]:
        """Digests of every indexed agenda, case and whitespace ignored (leakage)."""
        return {
            agenda_digest(agenda)
            for expert_agendas in self.agendas
            for agenda in expert_agendas
        }

    def fingerprint(self) -> str:
        """SHA-256 of everything indexed: same fingerprint, same index content.

        Lets a saved index be matched with the roster and split it was built from.
        """
        content = [
            [str(e) for e in self.expert_ids],
            self.profiles,
            self.skills,
            self.agendas,
            self.answers,
            sorted(self.indexed_project_ids),
        ]
        payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def profile_text(row: Mapping[str, object]) -> str:
    """Profile of one roster row as a single text.

    Args:
        row: A roster row with the ``expert_*`` profile columns.

    Returns:
        Headline, bio, work summary, location and industry, sentence-separated.
    """
    headline, bio, work, location, industry = (
        _text(row.get(column))
        for column in (
            "expert_headline",
            "expert_bio",
            "expert_work_summary",
            "expert_location",
            "expert_industry",
        )
    )
    parts = [
        headline,
        bio,
        work,
        f"Based in {location}." if location else "",
        f"Industry: {industry}." if industry else "",
    ]
    return " ".join(part for part in parts if part)


def _text(value: object) -> str:
    """A profile cell as stripped text; missing values (None, NaN, pd.NA) become ""."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def build_expert_documents(
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    train_answers: pd.DataFrame | None = None,
    timeline: Timeline | None = None,
) -> ExpertDocuments:
    """Assemble the per-expert index texts from the roster and TRAIN pairs.

    Args:
        expert_roster: One row per expert (``expert_roster`` contract).
        train_pairs: Training (project, expert) pairs with their agendas
            (``train_pairs`` contract). Only these projects enter the index.
        train_answers: Optional rows ``project_id, expert_id, responses`` (the
            ``clean_matches`` contract); only rows whose (project, expert) is in
            ``train_pairs`` are used, so answers cannot leak held-out projects.
        timeline: The training bookings in time order (``Timeline.from_pairs``).

    Returns:
        The documents, ordered like the roster.

    Raises:
        ValueError: If a required column is missing or roster ids repeat.
    """
    require_columns(expert_roster, _ROSTER_COLUMNS, "expert_roster")
    require_columns(train_pairs, _PAIR_COLUMNS, "train_pairs")
    roster = expert_roster.reset_index(drop=True)
    expert_ids = roster["expert_id"].to_numpy()
    duplicated = pd.Series(expert_ids)[pd.Series(expert_ids).duplicated()].tolist()
    if duplicated:
        raise ValueError(f"expert_roster repeats expert_id(s) {duplicated[:10]}.")
    position = {expert_id: i for i, expert_id in enumerate(expert_ids)}

    agendas: list[list[list[str]]] = [[] for _ in expert_ids]
    off_roster = 0
    for project_id, expert_id, agenda in train_pairs[list(_PAIR_COLUMNS)].itertuples(
        index=False
    ):
        questions = as_text_list(agenda)
        if expert_id not in position:
            off_roster += 1
            continue
        if not questions:
            raise ValueError(
                f"train_pairs row project_id={project_id}, expert_id={expert_id} has "
                "an empty agenda; data_processing must repair or drop it."
            )
        agendas[position[expert_id]].append(questions)
    if off_roster:
        logger.warning(
            "Ignored %d train pair(s) whose expert is not in the roster.", off_roster
        )
    without_history = sum(1 for expert_agendas in agendas if not expert_agendas)
    if without_history:
        logger.info(
            "%d roster expert(s) have no training project; they are indexed by "
            "profile and skills only.",
            without_history,
        )

    answers = _collect_answers(train_answers, train_pairs, position)
    return ExpertDocuments(
        expert_ids=expert_ids,
        profiles=[profile_text(row) for row in roster.to_dict("records")],
        skills=[", ".join(as_text_list(value)) for value in roster["expert_skills"]],
        agendas=agendas,
        answers=answers,
        indexed_project_ids=frozenset(as_id(p) for p in train_pairs["project_id"]),
        timeline=timeline,
    )


def _collect_answers(
    train_answers: pd.DataFrame | None,
    train_pairs: pd.DataFrame,
    position: Mapping[int, int],
) -> list[list[str]]:
    """Answer texts per expert, restricted to the (project, expert) train pairs."""
    if train_answers is None:
        return []
    require_columns(train_answers, ("project_id", "expert_id", "responses"), "answers")
    allowed = set(
        zip(
            train_pairs["project_id"],
            train_pairs["expert_id"],
            strict=True,
        )
    )
    answers: list[list[str]] = [[] for _ in position]
    for project_id, expert_id, responses in train_answers[
        ["project_id", "expert_id", "responses"]
    ].itertuples(index=False):
        key = (project_id, expert_id)
        if key not in allowed or key[1] not in position:
            continue
        for response in responses if responses is not None else []:
            answer = response.get("answer") if isinstance(response, Mapping) else None
            if answer:
                answers[position[key[1]]].append(str(answer))
    return answers

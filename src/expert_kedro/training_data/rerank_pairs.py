"""Pointwise rerank examples: (agenda, candidate expert) in, ``yes`` / ``no`` out.

The rerank design asks the fine-tuned LLM one question per retrieved candidate:
"is this expert a match for this agenda?". Its training examples come from the same
(project, expert) pairs as the generative design:

* each pair gives one positive: the agenda with its own expert -> ``yes``;
* hard negatives: the retriever's best-ranked roster experts for that agenda that
  are NOT acceptable for the project (the retriever is fit on the TRAIN split
  only) -> ``no``. They share the topic and differ by region or function, which is
  exactly the decision the reranker must learn;
* optionally a few random roster experts (seeded per project) -> ``no``.

The user turn is built by :func:`format_rerank_input` (shared with inference, so the
model is scored on the layout it was trained on): the numbered agenda, then the
candidate's profile in the fixed ``Expert: <name> (ID <id>)`` layout, optionally
a ``Region: <region>`` line (``recommender.candidate_region``: the business region
of the candidate's location, see :mod:`expert_kedro.training_data.regions`),
optionally an
``Agenda region:`` line (``recommender.agenda_region``: the regions the agenda
names, and with ``compare`` whether the candidate's region is one of them),
optionally followed by questions from the candidate's *other* training projects.

Outputs have the same columns as ``train_pairs`` (:data:`PAIR_COLUMNS`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id, as_id_list, id_seed, sort_by_ids, sorted_ids
from expert_kedro.training_data.formatting import format_agenda, format_expert_profile
from expert_kedro.training_data.regions import agenda_regions, expert_region

logger = logging.getLogger(__name__)

PAIR_COLUMNS = (
    "project_id",
    "expert_id",
    "agenda",
    "system",
    "input",
    "output",
    "source",
)
YES, NO = "yes", "no"
CANDIDATE_HEADER = "Candidate expert:"
HISTORY_HEADER = "Questions from this expert's past projects:"
REGION_LABEL = "Region"
AGENDA_REGION_LABEL = "Agenda region"
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]{2,}")

# (project_id, agenda) -> ranked roster expert ids of the retriever, best first.
CandidateFn = Callable[[Sequence[Sequence[str]]], list[list[str]]]


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.lower()))


def _normalised(question: str) -> str:
    """A question compared case- and spacing-insensitively (same text, same key)."""
    return " ".join(question.lower().split())


class ExpertHistory:
    """Questions of each expert's TRAINING projects, to describe a candidate.

    Args:
        train_pairs: ``train_pairs`` rows (``project_id``, ``expert_id``,
            ``agenda``); only the training split may be used, so no held-out
            agenda reaches a prompt.
    """

    def __init__(self, train_pairs: pd.DataFrame) -> None:
        # Per expert, in training order: (project, question, normalised question,
        # its words). The last two do not depend on the agenda, so they are
        # computed once here instead of for every (agenda, candidate) prompt.
        self._questions: dict[str, list[tuple[str, str, str, frozenset[str]]]] = {}
        seen: set[tuple[str, str]] = set()
        for project_id, expert_id, agenda in train_pairs[
            ["project_id", "expert_id", "agenda"]
        ].itertuples(index=False):
            key = (as_id(project_id), as_id(expert_id))
            if key in seen:
                continue
            seen.add(key)
            bucket = self._questions.setdefault(key[1], [])
            bucket.extend(
                (key[0], q, _normalised(q), frozenset(_words(q)))
                for q in map(str, agenda)
            )

    def questions(
        self,
        expert_id: str,
        agenda: Sequence[str],
        n: int,
        exclude_project: str | None = None,
    ) -> list[str]:
        """The ``n`` past questions of an expert that share most words with an agenda.

        Args:
            expert_id: The candidate.
            agenda: The client's questions (overlap ranks the past questions).
            n: How many questions to return (0 returns none).
            exclude_project: A project whose questions must not be shown (the
                project a training example is built from).

        Returns:
            Distinct questions, most overlapping first, ties in training order.
        """
        if n <= 0:
            return []
        if exclude_project is not None:
            exclude_project = as_id(exclude_project)
        agenda_words = _words(" ".join(agenda))
        own = {_normalised(q) for q in agenda}
        scored: dict[str, tuple[int, int]] = {}
        for order, (project_id, question, key, words) in enumerate(
            self._questions.get(as_id(expert_id), [])
        ):
            if project_id == exclude_project or key in own or question in scored:
                continue
            scored[question] = (-len(words & agenda_words), order)
        return sorted(scored, key=scored.__getitem__)[:n]


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

    Returns:
        The header, the profile, the optional region lines, then the optional past
        questions.
    """
    lines = [CANDIDATE_HEADER, format_expert_profile(profile)]
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

    Returns:
        ``"Agenda:\\n1. ...\\n\\nCandidate expert:\\nExpert: <name> (ID <id>)\\n..."``.
    """
    return (
        format_agenda(agenda)
        + "\n\n"
        + format_candidate(
            profile, history, region=region, agenda=agenda, agenda_region=agenda_region
        )
    )


def negatives_for(
    ranked: Sequence[str],
    acceptable: set[str],
    *,
    n_hard: int,
    n_random: int,
    roster_ids: Sequence[str],
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Hard negatives (best-ranked non-acceptable experts) and random ones.

    Args:
        ranked: Retriever ranking of roster experts for the agenda, best first.
        acceptable: Experts matched to the project (never negatives).
        n_hard: Hard negatives to take from the top of ``ranked``.
        n_random: Random negatives from the rest of the roster.
        roster_ids: Every roster expert id (drawn from in id order, so that a
            seed draws the same experts whatever order the roster arrives in).
        rng: Seeded generator (random negatives).

    Returns:
        ``(expert_id, kind)`` with kind ``"hard"`` or ``"random"``, no repeats.
    """
    hard = [as_id(e) for e in ranked if as_id(e) not in acceptable][:n_hard]
    taken = set(hard) | set(acceptable)
    rest = [e for e in sorted_ids(roster_ids) if e not in taken]
    size = min(n_random, len(rest))
    picks = rng.choice(len(rest), size=size, replace=False).tolist() if size else []
    return [(e, "hard") for e in hard] + [(rest[i], "random") for i in picks]


def build_rerank_examples(
    pairs: pd.DataFrame,
    roster: Mapping[str, Mapping[str, Any]],
    acceptable: Mapping[str, set[str]],
    rank_candidates: CandidateFn,
    *,
    system: str,
    n_hard: int,
    n_random: int,
    seed: int,
    history: ExpertHistory | None = None,
    history_questions: int = 0,
    candidate_region: bool = False,
    agenda_region: bool | str = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Positive and negative rerank examples for every (project, agenda) of ``pairs``.

    Args:
        pairs: Generative pairs (``train_pairs`` columns); each distinct
            (project, agenda) becomes one query.
        roster: Expert id -> roster row.
        acceptable: Project id -> its acceptable expert ids (never negatives).
        rank_candidates: Ranks roster experts for a list of agendas (retriever fit
            on the training split only).
        system: System prompt of the rerank task.
        n_hard: Hard negatives per query.
        n_random: Random negatives per query.
        seed: Seed of the random negatives (combined with the project id, so a
            project's negatives do not depend on the other projects).
        history: Past questions of experts, or None.
        history_questions: Past questions shown per candidate (0: none).
        candidate_region: Show each candidate's ``Region:`` line.
        agenda_region: Show the ``Agenda region:`` line (false, true, ``compare``).

    Returns:
        ``(examples, stats)``: examples with :data:`PAIR_COLUMNS` (``output`` is
        ``yes``/``no``), sorted by project, query and yes-first; ``stats`` counts.

    Raises:
        ValueError: If a pair's expert is not on the roster.
    """
    missing = sorted_ids(set(as_id_list(pairs["expert_id"])) - set(roster))
    if missing:
        raise ValueError(
            f"Pairs reference expert_id(s) {missing[:10]} that are not in "
            "expert_roster; rerun data_processing."
        )
    queries = sort_by_ids(
        pairs.assign(_key=pairs["agenda"].map(lambda a: tuple(str(q) for q in a))),
        ["project_id", "expert_id"],
    ).groupby(["project_id", "_key"], sort=False)
    keys = list(queries.groups)
    agendas = [list(key) for _, key in keys]
    rankings = rank_candidates(agendas) if agendas else []
    roster_ids = sorted_ids(roster)
    records: list[dict[str, Any]] = []
    stats = {"queries": len(keys), "positives": 0, "hard": 0, "random": 0}

    def _example(
        project_id: str, expert_id: str, agenda: list[str], out: str, src: str
    ) -> dict[str, Any]:
        shown = (
            history.questions(expert_id, agenda, history_questions, project_id)
            if history is not None
            else []
        )
        return {
            "project_id": as_id(project_id),
            "expert_id": as_id(expert_id),
            "agenda": list(agenda),
            "system": system,
            "input": format_rerank_input(
                agenda,
                roster[expert_id],
                shown,
                region=candidate_region,
                agenda_region=agenda_region,
            ),
            "output": out,
            "source": src,
        }

    for (project_id, _), agenda, ranked in zip(keys, agendas, rankings, strict=True):
        group = queries.get_group((project_id, tuple(agenda)))
        source = str(group["source"].iloc[0])
        ok = set(acceptable.get(as_id(project_id), set())) | set(
            as_id_list(group["expert_id"])
        )
        for expert_id in sorted_ids(group["expert_id"]):
            records.append(_example(project_id, expert_id, agenda, YES, source))
            stats["positives"] += 1
        rng = np.random.default_rng([int(seed), id_seed(project_id), len(agenda)])
        for expert_id, kind in negatives_for(
            ranked,
            ok,
            n_hard=n_hard,
            n_random=n_random,
            roster_ids=roster_ids,
            rng=rng,
        ):
            records.append(_example(project_id, expert_id, agenda, NO, source))
            stats[kind] += 1
    frame = pd.DataFrame(records, columns=list(PAIR_COLUMNS))
    logger.info(
        "Rerank examples: %d queries -> %d yes, %d hard no, %d random no.",
        stats["queries"],
        stats["positives"],
        stats["hard"],
        stats["random"],
    )
    return frame, stats

"""Pointwise rerank examples: (agenda, candidate expert) in, ``yes`` / ``no`` out.

The rerank design asks the fine-tuned LLM one question per retrieved candidate:
"is this expert a match for this agenda?". Its training examples come from the same
(project, expert) pairs as the generative design:

* each pair gives one positive: the agenda with its own expert -> ``yes``;
* hard negatives: the retriever's best-ranked roster experts for that agenda that
  are NOT acceptable for the project (the retriever is fit on the TRAIN split
  only) -> ``no``. They share the topic and differ by region or function, which is
  exactly the decision the reranker must learn. With a ``pool`` they are drawn at
  random from the non-acceptable experts of the retriever's top ``pool`` (the
  candidate list of inference) instead: taking the best-ranked ones makes the
  experts the retriever ranks high for every agenda (on Stack Exchange the most
  active answerers, often the right ones) negatives far more often than they are
  wrong candidates at inference, and the model, which tells experts apart by
  their name and profile, learns to say "no" to them;
* optionally a few random roster experts (seeded per project) -> ``no``.

The user turn is built by :func:`format_rerank_input` (shared with inference, so the
model is scored on the layout it was trained on): the numbered agenda, then the
candidate's profile in the fixed ``Expert: <name> (ID <id>)`` layout, optionally
a ``Region: <region>`` line (``recommender.candidate_region``: the business region
of the candidate's location, see :mod:`expert_kedro.training_data.regions`),
optionally an
``Agenda region:`` line (``recommender.agenda_region``: the regions the agenda
names, and with ``compare`` whether the candidate's region is one of them),
optionally an ``Activity:`` line (``recommender.candidate_activity``: the
candidate's bookings before the project's own time,
:mod:`expert_kedro.training_data.activity`), optionally followed by questions from
the candidate's *other* training projects.

Outputs have the same columns as ``train_pairs`` (:data:`PAIR_COLUMNS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id, as_id_list, id_seed, sort_by_ids, sorted_ids
from expert_kedro.training_data.activity import ActivityCounts
from expert_kedro.training_data.expert_history import ExpertHistory
from expert_kedro.training_data.rerank_prompt import (
    AGENDA_REGION_LABEL,
    CANDIDATE_HEADER,
    HISTORY_HEADER,
    REGION_LABEL,
    format_candidate,
    format_rerank_input,
)

# The prompt layout and the expert history live in their own modules; they stay
# importable from here, where the rerank examples are built from them.
__all__ = [
    "AGENDA_REGION_LABEL",
    "ActivityFn",
    "CANDIDATE_HEADER",
    "HISTORY_HEADER",
    "NO",
    "PAIR_COLUMNS",
    "REGION_LABEL",
    "YES",
    "CandidateFn",
    "ExpertHistory",
    "build_rerank_examples",
    "format_candidate",
    "format_rerank_input",
    "negatives_for",
]

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

# (agendas, their project ids) -> ranked roster expert ids of the retriever per
# agenda, best first (the ids tell a time-aware retriever when each was asked).
CandidateFn = Callable[[Sequence[Sequence[str]], Sequence[str]], list[list[str]]]
# project ids -> every roster expert's bookings before each project (one row each).
ActivityFn = Callable[[Sequence[str]], ActivityCounts]


def negatives_for(
    ranked: Sequence[str],
    acceptable: set[str],
    *,
    n_hard: int,
    n_random: int,
    roster_ids: Sequence[str],
    rng: np.random.Generator,
    pool: int | None = None,
) -> list[tuple[str, str]]:
    """Hard negatives (best-ranked non-acceptable experts) and random ones.

    Args:
        ranked: Retriever ranking of roster experts for the agenda, best first.
        acceptable: Experts matched to the project (never negatives).
        n_hard: Hard negatives to take from the top of ``ranked``.
        n_random: Random negatives from the rest of the roster.
        roster_ids: Every roster expert id (drawn from in id order, so that a
            seed draws the same experts whatever order the roster arrives in).
        rng: Seeded generator (random negatives, pool draws).
        pool: None: the ``n_hard`` best-ranked non-acceptable experts. Else
            ``n_hard`` drawn at random (kept in rank order) from the non-acceptable
            experts among the top ``pool`` of ``ranked``; all of them when fewer.

    Returns:
        ``(expert_id, kind)`` with kind ``"hard"`` or ``"random"``, no repeats.
    """
    listed = ranked if pool is None else ranked[:pool]
    hard = [as_id(e) for e in listed if as_id(e) not in acceptable]
    if pool is None or len(hard) <= n_hard:
        hard = hard[:n_hard]
    else:
        picks = rng.choice(len(hard), size=n_hard, replace=False)
        hard = [hard[i] for i in sorted(picks.tolist())]
    taken = set(hard) | set(acceptable)
    rest = [e for e in sorted_ids(roster_ids) if e not in taken]
    size = min(n_random, len(rest))
    picks = rng.choice(len(rest), size=size, replace=False).tolist() if size else []
    return [(e, "hard") for e in hard] + [(rest[i], "random") for i in picks]


def _check_on_roster(pairs: pd.DataFrame, roster: Mapping[str, Any]) -> None:
    """Raise naming the pairs' experts that are not on the roster."""
    missing = sorted_ids(set(as_id_list(pairs["expert_id"])) - set(roster))
    if missing:
        raise ValueError(
            f"Pairs reference expert_id(s) {missing[:10]} that are not in "
            "expert_roster; rerun data_processing."
        )


@dataclass(frozen=True)
class _ExampleWriter:
    """One rerank example: the prompt of (agenda, candidate) and its answer."""

    roster: Mapping[str, Mapping[str, Any]]
    system: str
    history: ExpertHistory | None
    history_questions: int
    candidate_region: bool
    agenda_region: bool | str

    def __call__(  # noqa: PLR0913, PLR0917 - one example's fields
        self,
        project_id: str,
        expert_id: str,
        agenda: list[str],
        out: str,
        src: str,
        activity: str | None = None,
    ) -> dict[str, Any]:
        shown = (
            self.history.questions(
                expert_id, agenda, self.history_questions, project_id
            )
            if self.history is not None
            else []
        )
        return {
            "project_id": as_id(project_id),
            "expert_id": as_id(expert_id),
            "agenda": list(agenda),
            "system": self.system,
            "input": format_rerank_input(
                agenda,
                self.roster[expert_id],
                shown,
                region=self.candidate_region,
                agenda_region=self.agenda_region,
                activity=activity,
            ),
            "output": out,
            "source": src,
        }


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
    pool: int | None = None,
    activity: ActivityFn | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Positive and negative rerank examples for every (project, agenda) of ``pairs``.

    Args:
        pairs: Generative pairs (``train_pairs`` columns); each distinct
            (project, agenda) becomes one query.
        roster: Expert id -> roster row.
        acceptable: Project id -> its acceptable expert ids (never negatives).
        rank_candidates: Ranks roster experts for a list of agendas and their
            project ids (retriever fit on the training split only).
        system: System prompt of the rerank task.
        n_hard: Hard negatives per query.
        n_random: Random negatives per query.
        seed: Seed of the random negatives (combined with the project id, so a
            project's negatives do not depend on the other projects).
        history: Past questions of experts, or None.
        history_questions: Past questions shown per candidate (0: none).
        candidate_region: Show each candidate's ``Region:`` line.
        agenda_region: Show the ``Agenda region:`` line (false, true, ``compare``).
        pool: Draw the hard negatives from the retriever's top ``pool`` (see
            :func:`negatives_for`); None: take the best-ranked ones.
        activity: Counts the candidates' ``Activity:`` lines before each project's
            time (None: no line).

    Returns:
        ``(examples, stats)``: examples with :data:`PAIR_COLUMNS` (``output`` is
        ``yes``/``no``), sorted by project, query and yes-first; ``stats`` counts.

    Raises:
        ValueError: If a pair's expert is not on the roster.
    """
    _check_on_roster(pairs, roster)
    queries = sort_by_ids(
        pairs.assign(_key=pairs["agenda"].map(lambda a: tuple(str(q) for q in a))),
        ["project_id", "expert_id"],
    ).groupby(["project_id", "_key"], sort=False)
    keys = list(queries.groups)
    agendas = [list(key) for _, key in keys]
    rankings = rank_candidates(agendas, [pid for pid, _ in keys]) if agendas else []
    counts = activity([pid for pid, _ in keys]) if activity and agendas else None
    draw = partial(
        negatives_for,
        n_hard=n_hard,
        n_random=n_random,
        roster_ids=sorted_ids(roster),
        pool=pool,
    )
    example = _ExampleWriter(
        roster, system, history, history_questions, candidate_region, agenda_region
    )
    records: list[dict[str, Any]] = []
    stats = {"queries": len(keys), "positives": 0, "hard": 0, "random": 0}
    for row, ((project_id, _), agenda, ranked) in enumerate(
        zip(keys, agendas, rankings, strict=True)
    ):
        group = queries.get_group((project_id, tuple(agenda)))
        source = str(group["source"].iloc[0])
        ok = set(acceptable.get(as_id(project_id), set())) | set(
            as_id_list(group["expert_id"])
        )
        rng = np.random.default_rng([int(seed), id_seed(project_id), len(agenda)])
        labelled = [(e, YES, "positives") for e in sorted_ids(group["expert_id"])]
        labelled += [(e, NO, kind) for e, kind in draw(ranked, ok, rng=rng)]
        for expert_id, answer, kind in labelled:
            line = None if counts is None else counts.line(row, expert_id)
            records.append(example(project_id, expert_id, agenda, answer, source, line))
            stats[kind] += 1
    logger.info(
        "Rerank examples: %(queries)d queries -> %(positives)d yes, %(hard)d hard "
        "no, %(random)d random no.",
        stats,
    )
    return pd.DataFrame(records, columns=list(PAIR_COLUMNS)), stats

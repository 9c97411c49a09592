"""Candidate signals of a Stack Exchange site, each from known questions only.

A *known* question is one a deployed system has the answers of: the profile period
and the training projects, never a validation or test project. Each signal maps
``(question id, expert id)`` to a score; ``benchmarks/candidate_signals.py`` fuses
them with the candidate stage and says what each one is.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

# (question id, expert) -> score of one signal.
Signal = Callable[[int, str], float]


def known_answerers(
    records: dict[int, Any], cutoff: int, roster: list[str], train_pairs: pd.DataFrame
) -> dict[int, set[str]]:
    """Roster answerers of every question a deployed system knows the answers of:
    the profile period (ids up to ``cutoff``) and the training projects."""
    members = set(roster)
    known = {
        question_id: {u for u in map(str, record.answerer_ids) if u in members}
        for question_id, record in records.items()
        if question_id <= cutoff
    }
    for project, expert in train_pairs[["project_id", "expert_id"]].to_numpy():
        known.setdefault(int(project), set()).add(str(expert))
    return known


def tag_signal(records: dict[int, Any], known: dict[int, set[str]]) -> Signal:
    """Tag overlap of a question with each expert's other known questions."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for question_id, experts in known.items():
        for expert in experts:
            counts[expert].update(records[question_id].tags)

    def score(question_id: int, expert: str) -> float:
        tags = records[question_id].tags
        # A known (training) question never counts for itself.
        own = Counter(tags) if expert in known.get(question_id, ()) else Counter()
        return sum(math.log1p(counts[expert][t] - own[t]) for t in tags)

    return score


def recent_signal(known: dict[int, set[str]], window: int) -> Signal:
    """Answers among the last ``window`` known questions asked before a question."""
    order = sorted(known)
    cache: dict[int, Counter] = {}

    def score(question_id: int, expert: str) -> float:
        if question_id not in cache:
            end = bisect.bisect_left(order, question_id)
            recent = order[max(0, end - window) : end]
            cache[question_id] = Counter(e for q in recent for e in known[q])
        return float(cache[question_id][expert])

    return score


def latest_signal(known: dict[int, set[str]], window: int) -> Signal:
    """Answers among the last ``window`` known questions of the whole period."""
    latest = Counter(e for q in sorted(known)[-window:] for e in known[q])

    def score(question_id: int, expert: str) -> float:  # one prior: id unused
        return float(latest[expert])

    return score


def _answers_in_order(known: dict[int, set[str]]) -> tuple[list[int], dict]:
    """Known question ids in time order, and each expert's answer positions."""
    order = sorted(known)
    positions: dict[str, list[int]] = defaultdict(list)
    for position, question_id in enumerate(order):
        for expert in known[question_id]:
            positions[expert].append(position)
    return order, positions


def decay_signal(known: dict[int, set[str]], tau: float) -> Signal:
    """Answers before a question, each weighted ``exp(-gap / tau)``."""
    order, positions = _answers_in_order(known)

    def score(question_id: int, expert: str) -> float:
        end = bisect.bisect_left(order, question_id)
        mine = positions.get(expert, [])
        before = np.asarray(mine[: bisect.bisect_left(mine, end)], dtype=float)
        return float(np.exp(-(end - 1 - before) / tau).sum())

    return score


def gap_signal(known: dict[int, set[str]]) -> Signal:
    """``1 / (1 + g)``, ``g`` known questions since the expert's last answer."""
    order, positions = _answers_in_order(known)

    def score(question_id: int, expert: str) -> float:
        end = bisect.bisect_left(order, question_id)
        mine = positions.get(expert, [])
        last = bisect.bisect_left(mine, end)
        return 0.0 if last == 0 else 1.0 / (1 + end - 1 - mine[last - 1])

    return score


def question_signal(
    texts: dict[int, str], known: dict[int, set[str]], top: int
) -> Signal:
    """Sum of the ``top`` best BM25 scores of an expert's other known questions."""
    import bm25s  # noqa: PLC0415

    order = [q for q in sorted(known) if known[q]]
    tokenizer = bm25s.tokenization.Tokenizer(stopwords="en")
    corpus = tokenizer.tokenize(
        [texts.get(q, "") for q in order], return_as="string", show_progress=False
    )
    index = bm25s.BM25()
    index.index(corpus, show_progress=False)
    answered: dict[str, list[int]] = defaultdict(list)
    position_of = {question_id: p for p, question_id in enumerate(order)}
    for position, question_id in enumerate(order):
        for expert in known[question_id]:
            answered[expert].append(position)
    cache: dict[int, np.ndarray] = {}

    def score(question_id: int, expert: str) -> float:
        if question_id not in cache:
            query = tokenizer.tokenize(
                [texts.get(question_id, "")],
                update_vocab=False,
                return_as="string",
                show_progress=False,
            )[0]
            # bm25s maps unknown words to the empty token, which has no index row.
            words = [token for token in query if token]
            cache[question_id] = (
                index.get_scores(words) if words else np.zeros(len(order))
            )
        own = position_of.get(question_id)  # a known question never counts itself
        mine = cache[question_id][[p for p in answered.get(expert, []) if p != own]]
        return float(np.sort(mine)[-top:].sum()) if len(mine) else 0.0

    return score


def asker_signal(records: dict[int, Any], known: dict[int, set[str]]) -> Signal:
    """Answers to the same asker's known questions asked before a question."""
    by_owner: dict[int, list[int]] = defaultdict(list)
    for question_id in sorted(known):
        owner = records[question_id].owner_id
        if owner is not None:
            by_owner[owner].append(question_id)
    cache: dict[int, Counter] = {}

    def score(question_id: int, expert: str) -> float:
        if question_id not in cache:
            earlier = by_owner.get(records[question_id].owner_id, [])
            end = bisect.bisect_left(earlier, question_id)
            cache[question_id] = Counter(e for q in earlier[:end] for e in known[q])
        return float(cache[question_id][expert])

    return score

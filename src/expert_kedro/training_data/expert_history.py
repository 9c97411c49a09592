"""Questions of each expert's training projects, shown to describe a candidate."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from expert_kedro.identifiers import as_id

_WORD_RE = re.compile(r"[a-z0-9][a-z0-9\-]{2,}")


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

"""Trace prompts back to the projects they came from, by their text alone.

Used by the leakage tests: a prompt's agenda is read from its ``Agenda:`` block and
matched to the projects of the saved split, so a check does not trust the
``project_id`` the code carries along with the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

from expert_kedro.retrieval.base import agenda_digest
from expert_kedro.training_data.rerank_pairs import HISTORY_HEADER

SPLITS = ("train", "validation", "test")
_NUMBERED = re.compile(r"^\d+\. (.*)$")


def question_key(question: object) -> str:
    """A question compared case- and spacing-insensitively."""
    return " ".join(str(question).lower().split())


def prompt_agenda(user_turn: str) -> list[str]:
    """The numbered questions under ``Agenda:`` in a prompt's user turn."""
    lines = user_turn.split("\n")
    if "Agenda:" not in lines:
        return []
    questions = []
    for line in lines[lines.index("Agenda:") + 1 :]:
        match = _NUMBERED.match(line)
        if not match:
            break
        questions.append(match.group(1))
    return questions


def past_questions(user_turn: str) -> list[str]:
    """The candidate's past questions shown in a rerank prompt (none: empty)."""
    if HISTORY_HEADER not in user_turn:
        return []
    tail = user_turn.split(HISTORY_HEADER, 1)[1].strip("\n").split("\n")
    return [line[2:] for line in tail if line.startswith("- ")]


def _in_order(part: Sequence[str], whole: Sequence[str]) -> bool:
    remaining = iter(whole)
    return all(question in remaining for question in part)


class SplitProvenance:
    """The shipped split as saved by data_processing: projects, agendas, questions.

    Args:
        pairs: Split name (``train``, ``validation``, ``test``) -> its pairs table.
    """

    def __init__(self, pairs: dict[str, pd.DataFrame]) -> None:
        self.ids = {s: set(map(str, pairs[s]["project_id"])) for s in SPLITS}
        self.heldout_ids = self.ids["validation"] | self.ids["test"]
        self.agendas = {
            s: {
                str(pid): [question_key(q) for q in agenda]
                for pid, agenda in zip(
                    pairs[s]["project_id"], pairs[s]["agenda"], strict=True
                )
            }
            for s in SPLITS
        }
        self.heldout_agendas = {
            tuple(agenda)
            for split in ("validation", "test")
            for agenda in self.agendas[split].values()
        }
        self.heldout_digests = {
            agenda_digest(list(agenda)) for agenda in self.heldout_agendas
        }
        self._asking: dict[str, set[str]] = {}
        for pid, agenda in self.agendas["train"].items():
            for question in agenda:
                self._asking.setdefault(question, set()).add(pid)
        # Expert -> train project -> the questions of that project's agenda.
        self.expert_questions: dict[str, dict[str, set[str]]] = {}
        for pid, eid, agenda in pairs["train"][
            ["project_id", "expert_id", "agenda"]
        ].itertuples(index=False):
            projects = self.expert_questions.setdefault(str(eid), {})
            projects.setdefault(str(pid), set()).update(map(question_key, agenda))

    def train_sources(self, agenda: Sequence[str]) -> set[str]:
        """Train projects whose agenda holds every question of ``agenda``, in order."""
        keys = [question_key(q) for q in agenda]
        if not keys:
            return set()
        found = set.intersection(*(self._asking.get(q, set()) for q in keys))
        return {pid for pid in found if _in_order(keys, self.agendas["train"][pid])}

    def assert_train_agendas(self, prompts: Iterable[str], what: str) -> int:
        """Every prompt's agenda comes from a train project, and is no held-out
        project's agenda. Returns the number of prompts checked."""
        checked = 0
        for prompt in prompts:
            agenda = prompt_agenda(prompt)
            assert agenda, f"{what}: a prompt without an agenda: {prompt[:200]!r}"
            assert self.train_sources(agenda), f"{what}: no train agenda: {agenda}"
            key = tuple(question_key(q) for q in agenda)
            assert key not in self.heldout_agendas, f"{what}: held-out: {agenda}"
            checked += 1
        return checked

    def assert_past_questions(
        self, expert_id: str, prompt: str, own_project: str | None = None
    ) -> int:
        """The past questions shown for a candidate are questions of its train
        projects (other than the example's own). Returns how many were shown."""
        projects = self.expert_questions.get(str(expert_id), {})
        allowed = set().union(
            *(qs for pid, qs in projects.items() if pid != own_project)
        )
        shown = past_questions(prompt)
        for question in shown:
            assert question_key(question) in allowed, (
                f"expert {expert_id}: past question {question!r} is not from one of "
                "its train projects"
            )
        return len(shown)

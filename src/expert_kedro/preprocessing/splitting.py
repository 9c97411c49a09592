"""Leak-free train/validation/test split of projects.

The unit of splitting is the project (all its experts go together). Projects whose
agendas are identical, or where one agenda's questions are all contained in another
agenda, are grouped and split together: otherwise a partial agenda built from one
(augmentation, evaluation) could equal the other's agenda in a different split.

Ids are strings; wherever order matters (group ids, the seeded shuffle) they are
ordered by :func:`~expert_kedro.identifiers.id_sort_key`, which orders decimal ids
by value, so a split of integer-looking ids is the one they got as integers.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from expert_kedro.identifiers import id_sort_key

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


class _UnionFind:
    def __init__(self, items: Sequence[str]) -> None:
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            # The smaller id becomes the root, so group ids do not depend on order.
            low, high = sorted((root_a, root_b), key=id_sort_key)
            self.parent[high] = low


def containing_projects(
    questions: Sequence[str], index: Mapping[str, set[str]]
) -> set[str]:
    """Projects whose agenda contains every one of ``questions``.

    Args:
        questions: A (partial) agenda.
        index: Question text -> ids of projects whose agenda has it.
    """
    sets = [index.get(q, set()) for q in set(questions)]
    if not sets:
        return set()
    return set.intersection(*sorted(sets, key=len))


def question_index(agendas: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """Inverted index: question text -> ids of projects asking it."""
    index: dict[str, set[str]] = defaultdict(set)
    for project_id, questions in agendas.items():
        for question in questions:
            index[question].add(project_id)
    return index


def group_projects(
    agendas: Mapping[str, Sequence[str]],
) -> tuple[dict[str, str], dict[str, Any]]:
    """Group projects that must share a split.

    Args:
        agendas: Project id -> its agenda (one agenda per project).

    Returns:
        Project id -> group id (the smallest project id of the group), and a report
        listing groups of identical agendas and (subset, superset) project pairs.
    """
    index = question_index(agendas)
    ordered = sorted(agendas, key=id_sort_key)
    groups = _UnionFind(ordered)
    identical: dict[frozenset, list[str]] = defaultdict(list)
    subset_pairs = []
    for project_id in ordered:
        questions = frozenset(agendas[project_id])
        identical[questions].append(project_id)
        others = containing_projects(list(questions), index) - {project_id}
        for other in sorted(others, key=id_sort_key):
            groups.union(project_id, other)
            if frozenset(agendas[other]) != questions:
                subset_pairs.append([project_id, other])
    identical_groups = [ids for ids in identical.values() if len(ids) > 1]
    report = {
        "identical_agenda_groups": identical_groups,
        "subset_agenda_pairs": subset_pairs,
    }
    if identical_groups or subset_pairs:
        logger.info(
            "Grouped projects sharing agendas: %d identical group(s), "
            "%d subset pair(s)",
            len(identical_groups),
            len(subset_pairs),
        )
    return {p: groups.find(p) for p in agendas}, report


def validate_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    """Check ``split.fractions``: the three splits, non-negative, summing to 1.

    Raises:
        ValueError: Naming the parameter and the problem.
    """
    if set(fractions) != set(SPLITS):
        raise ValueError(
            f"Parameter split.fractions must have exactly the keys {SPLITS}; got "
            f"{sorted(fractions)}."
        )
    values = {s: float(fractions[s]) for s in SPLITS}
    if any(v < 0 for v in values.values()) or not math.isclose(
        sum(values.values()), 1.0, abs_tol=1e-6
    ):
        raise ValueError(
            "Parameter split.fractions must be non-negative and sum to 1; "
            f"got {values}."
        )
    return values


def assign_splits(
    groups: Mapping[str, str],
    fractions: Mapping[str, float],
    seed: int,
) -> dict[str, str]:
    """Assign whole groups to splits, in a seeded random order.

    Groups are shuffled with ``seed``; each goes to the split furthest below its
    target number of projects, so the realised fractions are as close to the
    requested ones as group sizes allow.

    Args:
        groups: Project id -> group id.
        fractions: Target share of projects per split.
        seed: Random seed.

    Returns:
        Project id -> split name.
    """
    fractions = validate_fractions(fractions)
    members: dict[str, list[str]] = defaultdict(list)
    for project_id, group in groups.items():
        members[group].append(project_id)
    order = sorted(members, key=id_sort_key)
    rng = np.random.default_rng(seed)
    shuffled = [order[i] for i in rng.permutation(len(order))]
    total = len(groups)
    counts = dict.fromkeys(SPLITS, 0)
    assignment: dict[str, str] = {}
    for group in shuffled:
        split = max(SPLITS, key=lambda s: fractions[s] * total - counts[s])
        counts[split] += len(members[group])
        for project_id in members[group]:
            assignment[project_id] = split
    return assignment


def ensure_train_coverage(
    assignment: dict[str, str],
    groups: Mapping[str, str],
    project_experts: Mapping[str, Sequence[str]],
) -> tuple[dict[str, str], list[str]]:
    """Move groups into train so that every expert has a training example.

    A fine-tuned model cannot name an expert it never saw; an expert whose projects
    all fell outside train gets its smallest-id group moved to train.

    Returns:
        The new assignment and the experts for which a group was moved.
    """
    assignment = dict(assignment)
    members: dict[str, list[str]] = defaultdict(list)
    for project_id, group in groups.items():
        members[group].append(project_id)
    expert_projects: dict[str, list[str]] = defaultdict(list)
    for project_id, experts in project_experts.items():
        for expert_id in experts:
            expert_projects[expert_id].append(project_id)
    moved = []
    for expert_id in sorted(expert_projects, key=id_sort_key):
        projects = expert_projects[expert_id]
        if any(assignment[p] == "train" for p in projects):
            continue
        group = min((groups[p] for p in projects), key=id_sort_key)
        for project_id in members[group]:
            assignment[project_id] = "train"
        moved.append(expert_id)
    if moved:
        logger.info("Moved projects to train for %d unseen expert(s)", len(moved))
    return assignment, moved

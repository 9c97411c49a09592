"""Partial agendas: the same project seen through a few of its questions.

Clients often send a short agenda; training on 3-4 question subsets of real agendas
teaches the model to recognise the expert from partial information. The generator
is pure and seeded so that evaluation can rebuild exactly the same partial agendas
from test projects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Random draws allowed per requested variant before giving up on duplicates.
_ATTEMPTS_PER_VARIANT = 50


def make_partial_agendas(
    questions: Sequence[str],
    *,
    sizes: Sequence[int] = (3, 4),
    n_variants: int = 2,
    seed: int | Sequence[int] = 0,
    min_questions: int = 4,
) -> list[list[str]]:
    """Draw partial agendas of an agenda, keeping the question order.

    Each variant first draws a size uniformly among the usable ``sizes`` (those
    smaller than the agenda), then that many questions without replacement, kept
    in their original order. Variants never equal the full agenda nor each other
    (compared as question sequences).

    Args:
        questions: The full agenda.
        sizes: Allowed numbers of questions in a partial agenda.
        n_variants: How many partial agendas to draw at most.
        seed: Seed, or sequence of ints (e.g. ``[seed, project_id]`` so that one
            project's variants do not depend on the other projects).
        min_questions: Agendas shorter than this get no variant.

    Returns:
        Up to ``n_variants`` partial agendas (fewer when the agenda does not have
        that many distinct subsets of the allowed sizes).

    Raises:
        ValueError: If a size is below 1 or ``n_variants`` is negative.

    Examples:
        >>> make_partial_agendas(["a?", "b?", "c?", "d?"], sizes=[3], n_variants=1)
        [['b?', 'c?', 'd?']]
    """
    if n_variants < 0 or any(int(size) < 1 for size in sizes):
        raise ValueError(
            f"make_partial_agendas: n_variants must be >= 0 and sizes >= 1; got "
            f"n_variants={n_variants}, sizes={list(sizes)}."
        )
    agenda = list(questions)
    usable = sorted({int(s) for s in sizes if int(s) < len(agenda)})
    if len(agenda) < min_questions or not usable or n_variants == 0:
        return []
    rng = np.random.default_rng(seed)
    seen = {tuple(agenda)}
    variants: list[list[str]] = []
    # Upper bound on distinct variants; stops early on tiny agendas.
    available = sum(math.comb(len(agenda), size) for size in usable)
    target = min(n_variants, available)
    for _ in range(target * _ATTEMPTS_PER_VARIANT):
        if len(variants) >= target:
            break
        size = usable[int(rng.integers(len(usable)))]
        picked = np.sort(rng.choice(len(agenda), size=size, replace=False))
        variant = tuple(agenda[i] for i in picked)
        if variant not in seen:
            seen.add(variant)
            variants.append(list(variant))
    return variants

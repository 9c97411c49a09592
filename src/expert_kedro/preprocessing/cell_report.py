"""What a repair of a JSON-list cell kept, and what it lost, for the quality report.

A parsed cell is *recovered* only when the repair kept every item: a truncated list
whose complete items all survived, or a list with formatting slips. A repair that
kept some items but not all (a list cut off mid-way, items that were not usable) is
*partly recovered*, and the items it lost are counted per defect kind:

* ``invalid_item``: items read but unusable, counted exactly by the parser;
* ``truncated``: items cut off, counted against the project's complete agenda when
  one is known (an agenda or an answer list has one item per agenda question); when
  no complete agenda is known the loss cannot be counted and the cell is reported
  under ``cells_with_uncounted_loss``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from expert_kedro.preprocessing.parsing import (
    CLEAN,
    DROPPED,
    INVALID_ITEM,
    RECOVERED,
    TRUNCATED,
    ParseResult,
)

PARTLY_RECOVERED = "partly_recovered"
CELL_ACTIONS = (CLEAN, RECOVERED, PARTLY_RECOVERED, DROPPED)


@dataclass(frozen=True)
class CellOutcome:
    """One cell's action once losses are known.

    Attributes:
        action: One of :data:`CELL_ACTIONS`.
        items_lost: Items lost by the repair, per lossy defect kind.
        uncounted: The cell lost items that cannot be counted (truncated, no
            complete agenda to compare with).
    """

    action: str
    items_lost: dict[str, int] = field(default_factory=dict)
    uncounted: bool = False


def cell_outcome(result: ParseResult, expected: int | None) -> CellOutcome:
    """The action of one parsed cell and the items its repair lost.

    Args:
        result: The parsed cell.
        expected: Items the complete list has (the project's complete agenda
            length), or None when unknown.
    """
    if result.action in {CLEAN, DROPPED}:
        return CellOutcome(result.action)
    lost: dict[str, int] = {}
    if result.discarded:
        lost[INVALID_ITEM] = result.discarded
    uncounted = False
    if TRUNCATED in result.defects:
        if expected is None:
            uncounted = True
        else:
            cut = expected - len(result.items) - result.discarded
            if cut > 0:
                lost[TRUNCATED] = cut
    action = PARTLY_RECOVERED if lost or uncounted else RECOVERED
    return CellOutcome(action, lost, uncounted)


def cell_report(
    results: Sequence[ParseResult], expected: Sequence[int | None]
) -> dict[str, Any]:
    """Quality-report section of one JSON column.

    Args:
        results: Parsed cells of the column.
        expected: Per cell, the length of its complete list (None: unknown).

    Returns:
        ``actions`` (cells per action; they sum to the number of cells),
        ``defects`` (per defect kind: cells per outcome and ``items_lost``),
        ``items_lost`` (total) and ``cells_with_uncounted_loss``.
    """
    outcomes = [cell_outcome(r, e) for r, e in zip(results, expected, strict=True)]
    actions = Counter(o.action for o in outcomes)
    defects: dict[str, Counter] = defaultdict(Counter)
    for result, outcome in zip(results, outcomes, strict=True):
        for kind in result.defects:
            defects[kind][outcome.action] += 1
            defects[kind]["items_lost"] += outcome.items_lost.get(kind, 0)
    return {
        "actions": {a: actions.get(a, 0) for a in CELL_ACTIONS},
        "defects": {
            kind: {
                key: counts[key]
                for key in (RECOVERED, PARTLY_RECOVERED, DROPPED, "items_lost")
            }
            for kind, counts in sorted(defects.items())
        },
        "items_lost": sum(sum(o.items_lost.values()) for o in outcomes),
        "cells_with_uncounted_loss": sum(o.uncounted for o in outcomes),
    }

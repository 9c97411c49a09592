"""Checks where a raw table enters the pipeline: its columns and its id columns.

A table missing a column fails at once, naming the dataset, what it found and, when
the header was read as one column, the delimiter the file seems to use.

Ids are opaque strings (see :mod:`expert_kedro.identifiers`): nothing here parses
them as numbers. A row is only dropped when an id cannot identify anything (empty,
a placeholder such as ``N/A``, or text split over several lines, which would break
the one-line ``Expert: <name> (ID <id>)`` layout); each such row is counted and
named by its row number, with the values it held. Whitespace around an id is
removed and counted: ``" 42"`` and ``"42"`` are the same id in a CSV export.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import pandas as pd

from expert_kedro.preprocessing.parsing import PLACEHOLDERS

logger = logging.getLogger(__name__)

#: Bad rows listed by name in the report and the log (the count is always complete).
MAX_LISTED_ROWS = 20


def _id_problem(text: str) -> str | None:
    if not text:
        return "empty"
    if text.lower() in PLACEHOLDERS:
        return f"placeholder {text!r}"
    if "\n" in text or "\r" in text:
        return "line break inside the id"
    return None


def check_id_columns(
    frame: pd.DataFrame, columns: Sequence[str], dataset: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Strip the id columns and drop (counting and naming) rows with unusable ids.

    Args:
        frame: A raw table as loaded (cells as text), index = position in the file.
        columns: Its id columns.
        dataset: Catalog name, used in the log.

    Returns:
        The rows whose ids are usable (ids as stripped text, index kept) and a
        report: ``invalid_id_rows_dropped``, ``invalid_id_rows`` (row number, from
        1 for the first record after the header, the ids as written and the
        reason; the first :data:`MAX_LISTED_ROWS`) and
        ``ids_with_surrounding_whitespace``.
    """
    frame = frame.copy()
    stripped = 0
    problems: dict[Any, list[str]] = {}
    for column in columns:
        raw = ["" if pd.isna(v) else str(v) for v in frame[column]]
        clean = [value.strip() for value in raw]
        stripped += sum(a != b for a, b in zip(raw, clean, strict=True))
        for index, text in zip(frame.index, clean, strict=True):
            problem = _id_problem(text)
            if problem:
                problems.setdefault(index, []).append(f"{column} {problem}")
        frame[column] = clean
    listed = [
        {
            "row": int(index) + 1 if isinstance(index, Integral) else str(index),
            **{column: frame.at[index, column] for column in columns},
            "reason": "; ".join(reasons),
        }
        for index, reasons in [(i, problems[i]) for i in frame.index if i in problems][
            :MAX_LISTED_ROWS
        ]
    ]
    if problems:
        more = len(problems) - len(listed)
        logger.warning(
            "%s: dropping %d row(s) whose id cannot identify anything (rows "
            "counted from 1 after the header): %s%s",
            dataset,
            len(problems),
            "; ".join(f"row {r['row']}: {r['reason']}" for r in listed),
            f" and {more} more" if more else "",
        )
    if stripped:
        logger.info(
            "%s: removed surrounding whitespace from %d id cell(s).", dataset, stripped
        )
    report = {
        "invalid_id_rows_dropped": len(problems),
        "invalid_id_rows": listed,
        "ids_with_surrounding_whitespace": stripped,
    }
    return frame.drop(index=list(problems)), report


def check_raw_columns(raw: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    """Fail early, naming the dataset and the missing columns.

    Raises:
        ValueError: If any of ``columns`` is absent from ``raw``.
    """
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        found = [str(c) for c in raw.columns]
        other = [d for d in (";", "\t", "|") if len(found) == 1 and d in found[0]]
        hint = (
            f" The header was read as one column holding {other[0]!r}: the file "
            f"looks {other[0]!r}-delimited; set load_args.sep: {other[0]!r} for this "
            "dataset in the catalog, or export with commas."
            if other
            else ""
        )
        raise ValueError(
            f"Dataset '{name}' lacks column(s) {missing}; found {found}. "
            f"Check the file against the data card (data/01_raw).{hint}"
        )

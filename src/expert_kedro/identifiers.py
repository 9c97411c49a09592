"""Project and expert ids: opaque strings, from the raw CSV to every report.

An export's ids are labels, not numbers: ``0042`` and ``42`` are two experts,
``2.1e5`` is not project 210000 and ``A-17`` is as good an id as ``1658``. The raw
datasets are read as text and ids stay the exact text of their cell (surrounding
whitespace aside) through every table, prompt and ranking.

Two places used to rely on ids being integers, and keep their old behaviour for
integer-looking ids through the helpers here:

* order: :func:`id_sort_key` sorts decimal ids by value (then the rest as text),
  so seeded splits, pair order and bootstrap resamples are the same as when ids
  were parsed as numbers;
* seeds: :func:`id_seed` is the integer itself for a canonical decimal id, so a
  per-project random draw seeded by ``[seed, project_id]`` does not change, and a
  stable hash of the text for any other id.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


def as_id(value: Any) -> str:
    """One id as its text.

    Strings keep their text (a numpy string becomes a plain ``str``); integers (ids
    of tables written when ids were parsed as numbers) become their decimal text.

    Raises:
        TypeError: For a float or any other value, since turning it into text
            could rewrite the id (``2.1e5``, ``43119.9``).
    """
    if isinstance(value, str):
        return str(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    raise TypeError(
        f"id {value!r} is a {type(value).__name__}: ids must be text (read the raw "
        "CSV with dtype str) or integers."
    )


def as_id_list(value: Any) -> list[str]:
    """A list-like cell of ids (list, numpy array after parquet, scalar) as text."""
    if value is None:
        return []
    if isinstance(value, np.ndarray | list | tuple | pd.Series):
        return [as_id(v) for v in value]
    return [as_id(value)]


def id_sort_key(value: Any) -> tuple:
    """Sort key of an id: decimal ids by value first, then every other id as text.

    Ties between ``42`` and ``0042`` are broken by the text, so the order is total.
    """
    text = as_id(value)
    if text.isascii() and text.isdigit():
        return (0, int(text), text)
    return (1, 0, text)


def sorted_ids(values: Iterable[Any]) -> list[str]:
    """Distinct ids in :func:`id_sort_key` order."""
    return sorted({as_id(v) for v in values}, key=id_sort_key)


def id_order(column: pd.Series) -> pd.Series:
    """Rank of each id in :func:`id_sort_key` order, for ``sort_values(key=...)``."""
    rank = {v: i for i, v in enumerate(sorted_ids(column))}
    return column.map(lambda v: rank[as_id(v)])


def sort_by_ids(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` sorted (stably) by id columns in :func:`id_sort_key` order."""
    return frame.sort_values(
        columns,
        key=lambda column: id_order(column) if column.name in columns else column,
        kind="stable",
    )


def id_seed(value: Any) -> int:
    """A non-negative integer seed for a per-id random draw.

    A canonical decimal id (no sign, no leading zero) seeds with its value, as when
    ids were integers; any other id with the first 8 bytes of its SHA-256, which is
    stable across runs and machines (unlike ``hash``).
    """
    text = as_id(value)
    if text.isascii() and text.isdigit() and str(int(text)) == text:
        return int(text)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")

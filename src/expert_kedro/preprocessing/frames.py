"""Helpers for the tables the catalog hands to nodes."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def as_lists(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Turn list-like cells (numpy arrays after a parquet round trip) into lists."""
    frame = frame.copy()
    for column in columns:
        frame[column] = [list(v) if v is not None else [] for v in frame[column]]
    return frame

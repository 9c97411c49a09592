"""Parquet and Arrow datasets whose kedro-viz table previews survive nested cells.

kedro-viz serialises a dataset preview with pydantic, which rejects the numpy arrays
pyarrow returns for list columns (``agenda``, ``expert_skills``, ``input_ids``...):
one such preview makes ``kedro viz build --include-previews`` fail outright and the
dataset's panel in ``kedro viz run`` return an error. These subclasses only change
``preview()``: nested cells become short JSON text and long texts are cut, so the
table stays readable. Loading and saving are the parent's, unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from kedro.io.core import DatasetError
from kedro_datasets._typing import TablePreview
from kedro_datasets.huggingface import ArrowDataset
from kedro_datasets.pandas import ParquetDataset

_DEFAULT_MAX_CHARS = 160
_MAX_ITEMS = 8


def _plain(value: Any, max_items: int) -> Any:
    """Turn numpy containers/scalars into Python ones, keeping ``max_items`` items."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, max_items) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = [_plain(v, max_items) for v in list(value)[:max_items]]
        if len(value) > max_items:
            items.append(f"... {len(value) - max_items} more")
        return items
    return value


def preview_cell(value: Any, max_chars: int = _DEFAULT_MAX_CHARS) -> Any:
    """Render one table cell as a JSON-safe scalar for kedro-viz.

    Args:
        value: A cell as pandas/pyarrow return it (scalar, numpy array, list, dict).
        max_chars: Longer texts are cut to this many characters plus an ellipsis.

    Returns:
        ``None`` for missing values, numbers and booleans as they are, anything
        else as (possibly cut) text; lists and dicts as compact JSON text.
    """
    value = _plain(value, _MAX_ITEMS)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float):
        return value
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str)
    )
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _table_preview(split: dict[str, Any], max_chars: int) -> TablePreview:
    """Apply :func:`preview_cell` to a ``DataFrame.to_dict(orient="split")``."""
    return TablePreview(
        {
            "index": [preview_cell(i, max_chars) for i in split["index"]],
            "columns": [str(c) for c in split["columns"]],
            "data": [
                [preview_cell(value, max_chars) for value in row]
                for row in split["data"]
            ],
        }
    )


class ParquetTableDataset(ParquetDataset):
    """``pandas.ParquetDataset`` with a kedro-viz preview that handles list columns.

    Example catalog entry:

    .. code-block:: yaml

        clean_matches:
          type: expert_kedro.datasets.table_preview.ParquetTableDataset
          filepath: data/02_intermediate/clean_matches.parquet
          versioned: true
          metadata:
            kedro-viz:
              layer: intermediate
              preview_args:
                nrows: 5
    """

    def preview(
        self, nrows: int = 5, max_chars: int = _DEFAULT_MAX_CHARS
    ) -> TablePreview:
        """First ``nrows`` rows; nested cells as JSON text, texts cut."""
        return _table_preview(super().preview(nrows=nrows), max_chars)


class ArrowTableDataset(ArrowDataset):
    """``huggingface.ArrowDataset`` with a kedro-viz table preview of a few rows.

    Token id columns show their first items and how many follow, enough to see
    what a tokenized example looks like without shipping whole sequences to the
    browser.

    Example catalog entry:

    .. code-block:: yaml

        tokenized_train:
          type: expert_kedro.datasets.table_preview.ArrowTableDataset
          path: data/05_model_input/tokenized_train
          versioned: true
          metadata:
            kedro-viz:
              layer: model_input
              preview_args:
                nrows: 3
    """

    def preview(
        self, nrows: int = 3, max_chars: int = _DEFAULT_MAX_CHARS
    ) -> TablePreview:
        """First ``nrows`` examples of a saved ``datasets.Dataset`` as a table.

        Raises:
            DatasetError: When the saved object is a ``DatasetDict`` (no single
                table to show).
        """
        data = self.load()
        if not hasattr(data, "select"):
            raise DatasetError(
                f"{self}: preview needs a datasets.Dataset, found {type(data).__name__}"
            )
        frame = data.select(range(min(nrows, len(data)))).to_pandas()
        return _table_preview(frame.to_dict(orient="split"), max_chars)

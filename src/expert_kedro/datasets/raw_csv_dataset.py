"""CSV dataset for raw exports: a file pandas cannot split gets an error that says why.

A raw export saved with another delimiter (``;`` from a European spreadsheet, tabs)
makes pandas fail with ``Expected 35 fields in line 5, saw 44``, or read the whole
header as one column. Neither says what to change. This dataset loads exactly like
``pandas.CSVDataset``; when a file cannot be split, or splits into a single column,
it raises a ``DatasetError`` naming the file, the delimiter its header seems to
use and the catalog setting to change.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from kedro.io.core import DatasetError, get_filepath_str
from kedro_datasets.pandas import CSVDataset

_CANDIDATES = (",", ";", "\t", "|")


def _shown(delimiter: str) -> str:
    return "'\\t' (tab)" if delimiter == "\t" else repr(delimiter)


def likely_delimiter(header: str, configured: str) -> str | None:
    """The delimiter a header line seems to use, when it is not ``configured``.

    Args:
        header: The file's first line.
        configured: The delimiter the dataset reads with.

    Returns:
        The candidate (``,``, ``;``, tab, ``|``) that occurs most often in the
        header, if it occurs more often than ``configured``; else None.
    """
    counts = {d: header.count(d) for d in _CANDIDATES}
    best = max(counts, key=counts.__getitem__)
    if best != configured and counts[best] > counts.get(configured, 0):
        return best
    return None


class RawCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` whose load errors name a wrong delimiter.

    Takes the same keyword-only arguments as ``kedro_datasets.pandas.CSVDataset``.

    Example catalog entry (``conf/base/catalog_data_processing.yml``)::

        expert_data_raw:
          type: expert_kedro.datasets.raw_csv_dataset.RawCSVDataset
          filepath: data/01_raw/expert_data.csv
          versioned: true
          load_args:
            dtype: str
            keep_default_na: false
            # sep: ";"   # for a semicolon-delimited export
    """

    def _header_line(self) -> str:
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        encoding = self._load_args.get("encoding") or "utf-8"
        with self._fs.open(
            load_path, mode="r", encoding=encoding, errors="replace"
        ) as handle:
            return handle.readline()

    def _configured(self) -> str:
        return self._load_args.get("sep", self._load_args.get("delimiter", ","))

    def _delimiter_error(self, problem: str) -> DatasetError:
        configured = self._configured()
        found = likely_delimiter(self._header_line(), configured)
        where = f"Raw CSV '{self._filepath}'"
        if found is None:
            return DatasetError(
                f"{where} could not be read with delimiter {_shown(configured)}: "
                f"{problem}. Check that cells holding the delimiter or line breaks "
                "are quoted."
            )
        return DatasetError(
            f"{where} could not be read with delimiter {_shown(configured)}: "
            f"{problem}. Its header line is split by {_shown(found)}, so the file "
            f"looks {_shown(found)}-delimited: set load_args.sep: {found!r} for this "
            "dataset in the catalog (conf/local/ overrides conf/base/), or export "
            "the file with commas."
        )

    def load(self) -> pd.DataFrame:
        """Load like ``CSVDataset``; name the delimiter when the file does not split.

        Raises:
            DatasetError: For an empty file, a row pandas cannot split, or a file
                read as one column whose header holds another delimiter.
        """
        try:
            data = super().load()
        except DatasetError as error:
            cause: Any = error.__cause__
            if isinstance(cause, pd.errors.EmptyDataError):
                raise DatasetError(
                    f"Raw CSV '{self._filepath}' is empty: not even a header line."
                ) from cause
            if isinstance(cause, pd.errors.ParserError):
                raise self._delimiter_error(str(cause).strip()) from cause
            raise
        if data.shape[1] == 1:
            if likely_delimiter(self._header_line(), self._configured()) is not None:
                raise self._delimiter_error("the whole header was read as one column")
        return data

"""RawCSVDataset: loads like pandas.CSVDataset, names a wrong delimiter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from kedro.io.core import DatasetError

from expert_kedro.datasets.raw_csv_dataset import RawCSVDataset, likely_delimiter

LOAD_ARGS = {"dtype": str, "keep_default_na": False}
FRAME = pd.DataFrame(
    {
        "project_id": ["0042", "2.1e5"],
        "agenda": ['["A, b?", "C?"]', '["D?"]'],
        "expert_id": ["A-17", "43119.9"],
    }
)


def _write(path: Path, sep: str) -> Path:
    FRAME.to_csv(path, sep=sep, index=False)
    return path


def test_loads_text_exactly(tmp_path: Path):
    path = _write(tmp_path / "raw.csv", ",")
    loaded = RawCSVDataset(filepath=str(path), load_args=LOAD_ARGS).load()
    pd.testing.assert_frame_equal(loaded, FRAME, check_dtype=False)


def test_semicolon_file_names_the_delimiter(tmp_path: Path):
    path = _write(tmp_path / "raw.csv", ";")
    with pytest.raises(DatasetError) as error:
        RawCSVDataset(filepath=str(path), load_args=LOAD_ARGS).load()
    message = str(error.value)
    assert str(path) in message
    assert "looks ';'-delimited" in message
    assert "load_args.sep: ';'" in message
    # With the advice followed, the file loads.
    fixed = RawCSVDataset(filepath=str(path), load_args=LOAD_ARGS | {"sep": ";"})
    pd.testing.assert_frame_equal(fixed.load(), FRAME, check_dtype=False)


def test_unsplittable_row_keeps_the_parser_message_and_adds_the_hint(tmp_path: Path):
    header = "project_id;agenda;expert_id\n"
    path = tmp_path / "raw.csv"
    path.write_text(header + "1;x;2\n" + "1;a, b, c;2\n")
    with pytest.raises(DatasetError, match=r"Expected 1 fields in line 3, saw 3.*';'"):
        RawCSVDataset(filepath=str(path), load_args=LOAD_ARGS).load()


def test_empty_file_is_named(tmp_path: Path):
    path = tmp_path / "raw.csv"
    path.write_text("")
    with pytest.raises(DatasetError, match="is empty: not even a header"):
        RawCSVDataset(filepath=str(path), load_args=LOAD_ARGS).load()


def test_likely_delimiter():
    assert likely_delimiter("a;b;c,d\n", ",") == ";"
    assert likely_delimiter("a\tb\tc\n", ",") == "\t"
    assert likely_delimiter("a,b,c\n", ",") is None
    assert likely_delimiter("single\n", ",") is None

"""kedro-viz previews of parquet/arrow tables with list columns stay serialisable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset
from kedro.io.core import DatasetError
from kedro_datasets.pandas import ParquetDataset

from expert_kedro.datasets.table_preview import (
    ArrowTableDataset,
    ParquetTableDataset,
    preview_cell,
)


@pytest.fixture
def pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": [1, 2],
            "agenda": [["How big is it?", "Who buys?"], [f"q{i}" for i in range(12)]],
            "input": ["x" * 500, "short"],
            "score": [0.5, float("nan")],
        }
    )


def test_plain_parquet_preview_is_what_breaks_kedro_viz(tmp_path: Path, pairs):
    """The reason for the subclass: pyarrow hands list cells back as numpy arrays."""
    dataset = ParquetDataset(filepath=str(tmp_path / "p.parquet"))
    dataset.save(pairs)
    with pytest.raises(TypeError):
        json.dumps(dataset.preview(nrows=2))


def test_parquet_table_preview_is_json_with_readable_cells(tmp_path: Path, pairs):
    dataset = ParquetTableDataset(filepath=str(tmp_path / "p.parquet"), version=None)
    dataset.save(pairs)
    preview = json.loads(json.dumps(dataset.preview(nrows=2, max_chars=40)))
    assert preview["columns"] == ["project_id", "agenda", "input", "score"]
    first, second = preview["data"]
    assert first[0] == 1
    assert json.loads(first[1]) == ["How big is it?", "Who buys?"]
    assert first[2] == "x" * 39 + "…"
    assert second[1].startswith('["q0", "q1"') and second[1].endswith("…")
    assert second[3] is None
    pd.testing.assert_frame_equal(dataset.load(), pairs)


def test_parquet_table_dataset_keeps_versions(tmp_path: Path, pairs):
    from kedro.io.core import Version

    dataset = ParquetTableDataset(
        filepath=str(tmp_path / "p.parquet"), version=Version(None, None)
    )
    dataset.save(pairs)
    assert len(list((tmp_path / "p.parquet").glob("*/p.parquet"))) == 1
    assert dataset.preview(nrows=1)["data"][0][0] == 1


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_a_save_onto_an_existing_version_is_refused(tmp_path: Path, pairs, kind):
    """A version, once written, is never overwritten: saving again under the same
    version fails and leaves the saved files as they were."""
    from kedro.io.core import Version

    version = Version(None, "2026-01-01T00.00.00.000Z")
    if kind == "parquet":
        dataset = ParquetTableDataset(filepath=str(tmp_path / "t"), version=version)
        data = pairs
    else:
        dataset = ArrowTableDataset(path=str(tmp_path / "t"), version=version)
        data = Dataset.from_dict({"input_ids": [[1, 2, 3]], "length": [3]})
    dataset.save(data)
    files = {
        p: p.read_bytes() for p in sorted((tmp_path / "t").rglob("*")) if p.is_file()
    }
    with pytest.raises(DatasetError, match="already exists|must not exist"):
        dataset.save(data)
    after = {
        p: p.read_bytes() for p in sorted((tmp_path / "t").rglob("*")) if p.is_file()
    }
    assert files and after == files


def test_preview_cell_keeps_numbers_and_cuts_long_lists():
    assert preview_cell(3) == 3
    assert preview_cell(True) is True
    assert preview_cell(None) is None
    long = json.loads(preview_cell(list(range(20)), max_chars=1000))
    assert long[:8] == list(range(8)) and long[-1] == "... 12 more"


def test_arrow_table_preview_shows_token_heads(tmp_path: Path):
    data = Dataset.from_list(
        [
            {"input_ids": list(range(50)), "length": 50, "source": "original"},
            {"input_ids": [7, 8], "length": 2, "source": "partial"},
        ]
    )
    dataset = ArrowTableDataset(path=str(tmp_path / "tokenized"))
    dataset.save(data)
    preview = json.loads(json.dumps(dataset.preview(nrows=5)))
    assert preview["columns"] == ["input_ids", "length", "source"]
    assert len(preview["data"]) == 2
    assert json.loads(preview["data"][0][0])[-1] == "... 42 more"
    assert preview["data"][1][:2] == ["[7, 8]", 2]


def test_arrow_table_preview_refuses_a_dataset_dict(tmp_path: Path):
    from datasets import DatasetDict

    dataset = ArrowTableDataset(path=str(tmp_path / "dict"))
    dataset.save(DatasetDict({"train": Dataset.from_dict({"a": [1]})}))
    with pytest.raises(DatasetError, match="DatasetDict"):
        dataset.preview()

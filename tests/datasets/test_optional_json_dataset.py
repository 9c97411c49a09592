"""OptionalJSONDataset: None before the first version, versions kept, pins enforced."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DataCatalog, DatasetError, Version

from expert_kedro.datasets import OptionalJSONDataset


def test_loads_none_until_a_version_is_saved(tmp_path: Path, caplog):
    path = str(tmp_path / "rerank_tuning.json")
    dataset = OptionalJSONDataset(filepath=path, version=Version(None, None))
    assert not dataset.exists()
    with caplog.at_level("INFO"):
        assert dataset.load() is None
    assert "No version of" in caplog.text
    OptionalJSONDataset(filepath=path, version=Version(None, None)).save({"w": 0.6})
    assert OptionalJSONDataset(filepath=path, version=Version(None, None)).load() == {
        "w": 0.6
    }


def test_latest_version_wins_and_a_missing_pin_fails(tmp_path: Path):
    path = str(tmp_path / "t.json")
    first, second = "2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"
    OptionalJSONDataset(filepath=path, version=Version(None, first)).save({"w": 1})
    OptionalJSONDataset(filepath=path, version=Version(None, second)).save({"w": 2})
    assert OptionalJSONDataset(filepath=path, version=Version(None, None)).load() == {
        "w": 2
    }
    assert OptionalJSONDataset(filepath=path, version=Version(first, None)).load() == {
        "w": 1
    }
    # A version asked for by name must exist: only "never saved" reads as None.
    missing = OptionalJSONDataset(
        filepath=path, version=Version("2001-01-01T00.00.00.000Z", None)
    )
    with pytest.raises(DatasetError):
        missing.load()


def test_unversioned_and_unreadable(tmp_path: Path):
    path = tmp_path / "plain.json"
    dataset = OptionalJSONDataset(filepath=str(path))
    assert dataset.load() is None
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="plain.json"):
        dataset.load()


def test_catalog_yaml_entry(tmp_path: Path):
    catalog = DataCatalog.from_config(
        {
            "rerank_tuning": {
                "type": "expert_kedro.datasets.OptionalJSONDataset",
                "filepath": str(tmp_path / "rerank_tuning.json"),
                "versioned": True,
                "save_args": {"indent": 2},
            }
        }
    )
    assert catalog.load("rerank_tuning") is None
    catalog.save("rerank_tuning", {"retrieval_weight": 0.7})
    assert catalog.load("rerank_tuning") == {"retrieval_weight": 0.7}

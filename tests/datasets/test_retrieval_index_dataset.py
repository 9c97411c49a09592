"""RetrievalIndexDataset: versioned folders, never overwritten, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from kedro.io import DataCatalog, DatasetError, Version

from expert_kedro.datasets import RetrievalIndexDataset
from expert_kedro.retrieval import RetrievalIndex
from tests.retrieval.toy_roster import QUERIES, make_toy_index

AGENDAS = list(QUERIES.values())
FIRST = Version(None, "2026-01-01T00.00.00.000Z")
SECOND = Version(None, "2026-01-02T00.00.00.000Z")


@pytest.fixture(scope="module")
def toy_index() -> RetrievalIndex:
    return make_toy_index(bm25_weight=0.4)


def _dataset(path: Path, version: Version | None = None, **kwargs):
    return RetrievalIndexDataset(
        filepath=str(path), version=version or Version(None, None), **kwargs
    )


def _saved_folder(path: Path, version: Version = FIRST) -> Path:
    return path / version.save / path.name


def test_round_trip_scores_equal(tmp_path: Path, toy_index):
    dataset = _dataset(tmp_path / "retrieval_index")
    assert not dataset.exists()
    dataset.save(toy_index)
    assert dataset.exists()
    loaded = dataset.load()
    assert isinstance(loaded, RetrievalIndex)
    for name, retriever in loaded.retrievers().items():
        expected = toy_index.retrievers()[name].score_all(AGENDAS)
        assert np.array_equal(retriever.score_all(AGENDAS), expected), name
    folder = next((tmp_path / "retrieval_index").glob("*/retrieval_index"))
    assert (folder / "bm25" / "params.index.json").is_file()  # bm25s' own format
    assert np.load(folder / "embeddings.npy").dtype == np.float32


def test_memory_mapped_load_scores_equal(tmp_path: Path, toy_index):
    _dataset(tmp_path / "index").save(toy_index)
    loaded = _dataset(tmp_path / "index", load_args={"mmap": True}).load()
    assert isinstance(loaded.embeddings.base, np.memmap)  # read from disk on use
    assert np.array_equal(loaded.score_all(AGENDAS), toy_index.score_all(AGENDAS))


def test_versions_are_kept_pinnable_and_never_overwritten(tmp_path: Path, toy_index):
    path = tmp_path / "retrieval_index"
    _dataset(path, FIRST).save(toy_index)
    other = make_toy_index(bm25_weight=0.9)
    _dataset(path, SECOND).save(other)
    assert _dataset(path).load().bm25_weight == 0.9  # latest
    assert _dataset(path, Version(FIRST.save, None)).load().bm25_weight == 0.4
    manifest = _saved_folder(path) / "manifest.json"
    before = manifest.read_bytes()
    with pytest.raises(DatasetError, match="must not exist if versioning is enabled"):
        _dataset(path, FIRST).save(other)
    assert manifest.read_bytes() == before
    assert _dataset(path, Version(FIRST.save, None)).load().bm25_weight == 0.4


def test_missing_and_corrupt_folders_fail_clearly(tmp_path: Path, toy_index):
    path = tmp_path / "retrieval_index"
    with pytest.raises(DatasetError, match="Did not find any versions"):
        _dataset(path).load()
    _dataset(path, FIRST).save(toy_index)
    folder = _saved_folder(path)

    embeddings = folder / "embeddings.npy"
    embeddings.write_bytes(embeddings.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"embeddings\.npy has \d+ bytes, not"):
        _dataset(path).load()

    embeddings.unlink()
    with pytest.raises(DatasetError, match=r"embeddings\.npy is missing"):
        _dataset(path).load()

    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="Unreadable .*manifest.json"):
        _dataset(path).load()
    assert "error" in json.loads(_dataset(path).preview())

    (folder / "manifest.json").unlink()
    assert not _dataset(path).exists()
    with pytest.raises(DatasetError, match="missing manifest.json.*retrieval"):
        _dataset(path).load()


def test_inconsistent_file_is_named(tmp_path: Path, toy_index):
    path = tmp_path / "retrieval_index"
    _dataset(path, FIRST).save(toy_index)
    folder = _saved_folder(path)
    ids = np.load(folder / "expert_ids.npy")
    np.save(folder / "expert_ids.npy", ids[::-1])  # same size, misaligned scores
    with pytest.raises(DatasetError, match=r"expert_ids\.npy does not match its"):
        _dataset(path).load()
    np.save(folder / "expert_ids.npy", ids)
    assert _dataset(path).load().expert_ids.tolist() == ids.tolist()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="not a version 1"):
        _dataset(path).load()


def test_refuses_other_objects_and_unknown_load_args(tmp_path: Path, toy_index):
    with pytest.raises(DatasetError, match="expects a RetrievalIndex"):
        _dataset(tmp_path / "x").save({"not": "an index"})
    untuned = RetrievalIndex(
        bm25=toy_index.bm25,
        dense=toy_index.dense,
        popularity=toy_index.popularity,
        encoder=toy_index.encoder,
        settings=toy_index.settings,
        fingerprint=toy_index.fingerprint,
    )
    with pytest.raises(DatasetError, match="without a fusion weight"):
        _dataset(tmp_path / "x").save(untuned)
    assert not (tmp_path / "x").exists()
    with pytest.raises(DatasetError, match=r"unknown load_args \['mmap_mode'\]"):
        _dataset(tmp_path / "x", load_args={"mmap_mode": "r"})


def test_preview_describe_and_catalog_entry(tmp_path: Path, toy_index):
    config = yaml.safe_load(
        RetrievalIndexDataset.__doc__.split(".. code-block:: yaml")[1].split(
            "Python API"
        )[0]
    )
    entry = config["retrieval_index"]
    entry["filepath"] = str(tmp_path / "retrieval_index")
    catalog = DataCatalog.from_config({"retrieval_index": entry})
    assert json.loads(catalog["retrieval_index"].preview()) == {}  # nothing saved
    catalog.save("retrieval_index", toy_index)
    preview = json.loads(catalog["retrieval_index"].preview())
    assert preview["roster_size"] == 4
    assert preview["fusion"] == "zscore" and preview["bm25_weight"] == 0.4
    assert preview["encoder_model"] == "all-MiniLM-L6-v2 (bundled)"
    assert preview["most_booked_experts"][0] == {
        "expert_id": "202",
        "train_projects": 3,
    }
    assert "load_args" in str(catalog["retrieval_index"])
    assert catalog.load("retrieval_index").fingerprint == toy_index.fingerprint

"""``RetrievalIndexDataset``: versioned folders holding a fitted ``RetrievalIndex``."""

from __future__ import annotations

import json
from typing import Any

from kedro.io.core import DatasetError, Version
from kedro_datasets._typing import JSONPreview

from expert_kedro.datasets._folders import VersionedFolderDataset
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.index_io import (
    MANIFEST,
    RetrievalIndexFormatError,
    load_index,
    save_index,
)

_LOAD_ARGS = {"mmap": False, "device": None}


class RetrievalIndexDataset(VersionedFolderDataset[RetrievalIndex, RetrievalIndex]):
    """Saves the fitted candidate retriever once; every consumer loads it.

    A saved folder (format in :mod:`expert_kedro.retrieval.index_io`) holds the BM25
    index in ``bm25s``' own format, the expert embeddings as ``.npy``, the
    popularity counts and a JSON manifest (settings, tuned fusion weight and its
    tuning record, encoder signature, fingerprint of the indexed documents, file
    sizes). Loading reads these files only: the roster is never re-encoded, and the
    sentence encoder is loaded on the first dense or hybrid query.

    With ``versioned: true`` every save is a new timestamped folder and an existing
    version is never overwritten (without versioning a save replaces the folder, in
    one rename, so a reader never sees half an index). A missing or corrupt folder
    fails with a ``DatasetError`` naming the file and how to rebuild it.

    Example catalog entry:

    .. code-block:: yaml

        retrieval_index:
          type: expert_kedro.datasets.RetrievalIndexDataset
          filepath: data/06_models/retrieval_index
          versioned: true
          load_args:
            mmap: false    # memory-map the arrays (very large rosters)
            device: null   # query encoder device; null: the one that built it
          metadata:
            kedro-viz:
              layer: models
              preview_args: {}

    Python API:

    .. code-block:: python

        dataset = RetrievalIndexDataset(filepath="data/06_models/retrieval_index")
        dataset.save(index)
        index = dataset.load()
        table = index.candidates(agendas, k=10)
    """

    MARKER = MANIFEST
    MISSING = (
        "No retrieval index at '{path}' (missing {marker}). Build it with "
        "`kedro run --pipelines=retrieval`."
    )

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        load_args: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create a ``RetrievalIndexDataset``.

        The arguments other than ``load_args`` are those of
        :class:`~expert_kedro.datasets._folders.VersionedFolderDataset`.

        Args:
            filepath: Folder path (local or fsspec URL).
            version: Kedro version; set by ``versioned: true`` in the catalog.
            load_args: ``mmap`` (memory-map the arrays) and ``device`` (torch
                device of the query encoder).
            credentials: fsspec credentials for remote filesystems.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata; ignored by Kedro.

        Raises:
            DatasetError: On an unknown ``load_args`` key.
        """
        unknown = sorted(set(load_args or {}) - set(_LOAD_ARGS))
        if unknown:
            raise DatasetError(
                f"RetrievalIndexDataset: unknown load_args {unknown}; known: "
                f"{sorted(_LOAD_ARGS)}."
            )
        self._load_args = {**_LOAD_ARGS, **(load_args or {})}
        super().__init__(
            filepath=filepath,
            version=version,
            credentials=credentials,
            fs_args=fs_args,
            metadata=metadata,
        )

    def save(self, data: RetrievalIndex) -> None:
        """Write the index into a new folder (a new version when versioned)."""
        if not isinstance(data, RetrievalIndex):
            raise DatasetError(
                "RetrievalIndexDataset expects a RetrievalIndex (see expert_kedro."
                f"retrieval.fit_retrieval_index), got {type(data).__name__}."
            )
        if not data.is_tuned:
            raise DatasetError(
                "RetrievalIndexDataset refuses an index without a fusion weight; run "
                "tune_retrieval_index(index, validation_projects) before saving."
            )
        self._write_folder(lambda folder: save_index(data, folder))

    def load(self) -> RetrievalIndex:
        """Read the latest (or pinned) version; no model is loaded here."""
        remote = self._load_folder()
        try:
            return load_index(
                self._local_folder(remote),
                mmap=bool(self._load_args["mmap"]),
                device=self._load_args["device"],
            )
        except RetrievalIndexFormatError as exc:
            raise DatasetError(str(exc)) from None

    def _manifest(self) -> dict[str, Any]:
        try:
            return self._read_marker()
        except (OSError, json.JSONDecodeError) as exc:
            return {"error": f"unreadable {MANIFEST}: {exc}"}

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "load_args": self._load_args}

    def preview(self) -> JSONPreview:
        """Roster size, fusion and weight, encoder and a few experts, for kedro-viz."""
        manifest = self._manifest()
        summary = manifest.get("summary", {})
        if "error" in manifest:
            summary = {"error": manifest["error"]}
        return JSONPreview(json.dumps(summary, default=str))

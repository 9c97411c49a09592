"""``RetrievalIndexDataset``: versioned folders holding a fitted ``RetrievalIndex``."""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)
from kedro_datasets._typing import JSONPreview

from expert_kedro.datasets._folders import local_folder, write_folder
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.index_io import (
    MANIFEST,
    RetrievalIndexFormatError,
    load_index,
    save_index,
)

_LOAD_ARGS = {"mmap": False, "device": None}


class RetrievalIndexDataset(AbstractVersionedDataset[RetrievalIndex, RetrievalIndex]):
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

    def __init__(  # noqa: PLR0913 - kedro-datasets' standard arguments
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

        Args:
            filepath: Folder path (local or fsspec URL). With versioning, versions
                are ``<filepath>/<version>/<folder name>``.
            version: Kedro version; set by ``versioned: true`` in the catalog.
            load_args: ``mmap`` (memory-map the arrays) and ``device`` (torch
                device of the query encoder).
            credentials: fsspec credentials for remote filesystems.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata (kedro-viz layer, ...); ignored by Kedro.

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
        protocol, path = get_protocol_and_path(filepath, version)
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **fs_args)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _path(self, path: PurePosixPath) -> str:
        return get_filepath_str(path, self._protocol)

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
        # Raises when this version already exists: a version is never overwritten.
        save_path = self._path(self._get_save_path())
        write_folder(
            self._fs, self._protocol, save_path, lambda folder: save_index(data, folder)
        )

    def load(self) -> RetrievalIndex:
        """Read the latest (or pinned) version; no model is loaded here."""
        remote = self._path(self._get_load_path())
        if not self._fs.exists(f"{remote}/{MANIFEST}"):
            raise DatasetError(
                f"No retrieval index at '{remote}' (missing {MANIFEST}). Build it with "
                "`kedro run --pipelines=retrieval`."
            )
        try:
            return load_index(
                local_folder(self._fs, self._protocol, remote),
                mmap=bool(self._load_args["mmap"]),
                device=self._load_args["device"],
            )
        except RetrievalIndexFormatError as exc:
            raise DatasetError(str(exc)) from None

    def _exists(self) -> bool:
        try:
            path = self._path(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(f"{path}/{MANIFEST}")

    def _manifest(self) -> dict[str, Any]:
        # Resolving the load version formats error messages with repr(self), which
        # calls _describe() again: the guard breaks that loop.
        if getattr(self, "_reading_manifest", False):
            return {}
        self._reading_manifest = True
        try:
            if not self._exists():
                return {}
            path = f"{self._path(self._get_load_path())}/{MANIFEST}"
            with self._fs.open(path, "r", encoding="utf-8") as file:
                return json.load(file)
        except (OSError, json.JSONDecodeError) as exc:
            return {"error": f"unreadable {MANIFEST}: {exc}"}
        finally:
            self._reading_manifest = False

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
            "load_args": self._load_args,
        }

    def preview(self) -> JSONPreview:
        """Roster size, fusion and weight, encoder and a few experts, for kedro-viz."""
        manifest = self._manifest()
        summary = manifest.get("summary", {})
        if "error" in manifest:
            summary = {"error": manifest["error"]}
        return JSONPreview(json.dumps(summary, default=str))

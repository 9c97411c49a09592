"""``CrossEncoderDataset``: versioned folders holding a trained cross-encoder."""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path, PurePosixPath
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

from expert_kedro.cross_encoder.training import TrainedCrossEncoder, load_cross_encoder
from expert_kedro.datasets._folders import local_folder, write_folder

RECORD = "training.json"
"""The training record, next to the model's own files."""


class CrossEncoderDataset(
    AbstractVersionedDataset[TrainedCrossEncoder, TrainedCrossEncoder]
):
    """Saves a trained sentence-transformers ``CrossEncoder`` and its record.

    A saved folder is the model's ``save_pretrained`` output (config, weights,
    tokenizer) plus ``training.json`` (settings, base model signature, pairs, steps,
    seconds, loss history). Loading reads the local files only (no Hub access).

    With ``versioned: true`` every save is a new timestamped folder, never
    overwritten; without it a save replaces the folder in one rename.

    Example catalog entry:

    .. code-block:: yaml

        cross_encoder:
          type: expert_kedro.datasets.CrossEncoderDataset
          filepath: data/06_models/cross_encoder
          versioned: true
          metadata:
            kedro-viz:
              layer: models
              preview_args: {}

    Python API:

    .. code-block:: python

        dataset = CrossEncoderDataset(filepath="data/06_models/cross_encoder")
        dataset.save(trained)
        trained = dataset.load()
        logits = trained.model.predict([(agenda, candidate)])
    """

    def __init__(  # noqa: PLR0913 - kedro-datasets' standard arguments
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create a ``CrossEncoderDataset``.

        Args:
            filepath: Folder path (local or fsspec URL). With versioning, versions
                are ``<filepath>/<version>/<folder name>``.
            version: Kedro version; set by ``versioned: true`` in the catalog.
            credentials: fsspec credentials for remote filesystems.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata (kedro-viz layer, ...); ignored by Kedro.
        """
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

    def save(self, data: TrainedCrossEncoder) -> None:
        """Write the model and its record into a new folder (version)."""
        if not isinstance(data, TrainedCrossEncoder):
            raise DatasetError(
                "CrossEncoderDataset expects a TrainedCrossEncoder (see expert_kedro."
                f"cross_encoder.train_cross_encoder), got {type(data).__name__}."
            )

        def writer(folder: str) -> None:
            data.model.save_pretrained(folder, create_model_card=False)
            Path(folder, RECORD).write_text(
                json.dumps(dict(data.record), indent=2, default=str), encoding="utf-8"
            )

        # Raises when this version already exists: a version is never overwritten.
        save_path = self._path(self._get_save_path())
        write_folder(self._fs, self._protocol, save_path, writer)

    def load(self) -> TrainedCrossEncoder:
        """Read the latest (or pinned) version."""
        remote = self._path(self._get_load_path())
        if not self._fs.exists(f"{remote}/{RECORD}"):
            raise DatasetError(
                f"No cross-encoder at '{remote}' (missing {RECORD}). Train it with "
                "`kedro run --pipelines=evaluation_llm`."
            )
        folder = local_folder(self._fs, self._protocol, remote)
        record = json.loads(Path(folder, RECORD).read_text(encoding="utf-8"))
        return TrainedCrossEncoder(load_cross_encoder(folder), record)

    def _exists(self) -> bool:
        try:
            path = self._path(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(f"{path}/{RECORD}")

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
        }

    def preview(self) -> JSONPreview:
        """The training record without the loss history, for kedro-viz."""
        if not self._exists():
            return JSONPreview("{}")
        path = f"{self._path(self._get_load_path())}/{RECORD}"
        with self._fs.open(path, "r", encoding="utf-8") as file:
            record = json.load(file)
        record.pop("loss_history", None)
        return JSONPreview(json.dumps(record, default=str))

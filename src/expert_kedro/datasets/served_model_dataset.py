"""``ServedModelDataset``: versioned exports of the merged model + adapter + card."""

from __future__ import annotations

import json
import shutil
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

from expert_kedro.datasets._folders import local_folder, write_folder
from expert_kedro.modeling.handles import ServedModel, ServedModelHandle

MERGED, ADAPTER = "merged", "adapter"
MODEL_CARD, README = "model_card.json", "README.md"
# Files of a peft adapter folder that a serving stack needs (training_info.json
# and the tokenizer travel in model_card.json and merged/).
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
_PREVIEW_KEYS = ("model", "base_model", "adapter", "prompt")


class ServedModelDataset(AbstractVersionedDataset[ServedModel, ServedModelHandle]):
    """An exported model, ready for plain transformers, vLLM or TGI.

    A saved folder holds:

    * ``merged/``: ``config.json``, ``generation_config.json``, the safetensors
      weights (sharded at ``max_shard_size``) and the tokenizer with its chat
      template: ``AutoModelForCausalLM.from_pretrained("merged")`` needs nothing
      else;
    * ``adapter/``: ``adapter_config.json`` + ``adapter_model.safetensors`` (only
      when the adapter is exported);
    * ``model_card.json`` and ``README.md``: sources, training facts, the prompt
      layout and how the score is read.

    Local folders are written atomically (see ``_folders.write_folder``); remote
    ones are written locally, then uploaded. ``load()`` returns a
    :class:`~expert_kedro.modeling.handles.ServedModelHandle`, never the weights.

    Example catalog entry:

    .. code-block:: yaml

        served_model:
          type: expert_kedro.datasets.ServedModelDataset
          filepath: data/06_models/served_model
          versioned: true

    Python API:

    .. code-block:: python

        dataset = ServedModelDataset(filepath="data/06_models/served_model")
        dataset.save(ServedModel(model, tokenizer, card, readme, adapter_path))
        handle = dataset.load()
        model = AutoModelForCausalLM.from_pretrained(handle.merged_path)
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create a ``ServedModelDataset``.

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

    @staticmethod
    def _check(data: Any) -> None:
        if not isinstance(data, ServedModel):
            raise DatasetError(
                "ServedModelDataset expects a ServedModel(model, tokenizer, card, "
                f"readme, adapter_path), got {type(data).__name__}."
            )
        if hasattr(data.model, "peft_config"):
            raise DatasetError(
                "ServedModelDataset: ServedModel.model still has peft layers; merge "
                "them first (expert_kedro.modeling.export.merge_adapter)."
            )
        if data.adapter_path is None:
            return
        folder = Path(data.adapter_path)
        missing = [f for f in _ADAPTER_FILES if not (folder / f).is_file()]
        if missing:
            raise DatasetError(
                f"ServedModelDataset: adapter folder '{data.adapter_path}' lacks "
                f"{missing}; export without the adapter (export.copy_adapter: false) "
                "or point at a complete lora_adapter version."
            )

    def save(self, data: ServedModel) -> None:
        """Write ``merged/``, optionally ``adapter/``, then the model card."""
        self._check(data)

        def writer(folder: str) -> None:
            merged = f"{folder}/{MERGED}"
            data.model.save_pretrained(merged, max_shard_size=data.max_shard_size)
            data.tokenizer.save_pretrained(merged)
            if data.adapter_path is not None:
                Path(folder, ADAPTER).mkdir()
                for name in _ADAPTER_FILES:
                    shutil.copy2(Path(data.adapter_path) / name, Path(folder, ADAPTER))
            with open(f"{folder}/{README}", "w", encoding="utf-8") as file:
                file.write(data.readme)
            with open(f"{folder}/{MODEL_CARD}", "w", encoding="utf-8") as file:
                json.dump(data.card, file, indent=2, default=str)

        save_path = self._path(self._get_save_path())
        write_folder(self._fs, self._protocol, save_path, writer)

    def _read_card(self, folder: str) -> dict[str, Any]:
        with self._fs.open(f"{folder}/{MODEL_CARD}", "r", encoding="utf-8") as file:
            return json.load(file)

    def load(self) -> ServedModelHandle:
        """Return a handle on the (latest or pinned) export."""
        remote = self._path(self._get_load_path())
        if not self._fs.exists(f"{remote}/{MODEL_CARD}"):
            raise DatasetError(
                f"No exported model at '{remote}' (missing {MODEL_CARD}). Export "
                "one with `kedro run --pipelines=export`."
            )
        card = self._read_card(remote)
        path = local_folder(self._fs, self._protocol, remote)
        adapter = Path(path, ADAPTER)
        return ServedModelHandle(
            path=path,
            merged_path=str(Path(path, MERGED)),
            adapter_path=str(adapter) if adapter.is_dir() else None,
            card=card,
            version=self.resolve_load_version(),
        )

    def _exists(self) -> bool:
        try:
            path = self._path(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(f"{path}/{MODEL_CARD}")

    def _summary(self) -> dict[str, Any]:
        # Resolving the load version formats error messages with repr(self), which
        # calls _describe() again: the guard breaks that loop.
        if getattr(self, "_summarising", False):
            return {}
        self._summarising = True
        try:
            if not self._exists():
                return {}
            card = self._read_card(self._path(self._get_load_path()))
        finally:
            self._summarising = False
        return {key: card[key] for key in _PREVIEW_KEYS if key in card}

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
        }

    def preview(self) -> JSONPreview:
        """Model facts, sources and prompt layout of the latest export (kedro-viz)."""
        return JSONPreview(json.dumps(self._summary(), default=str))

"""``LoRAAdapterDataset``: versioned folders of peft LoRA adapters + tokenizer."""

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
from expert_kedro.modeling.handles import LoRAAdapterHandle, TrainedAdapter

ADAPTER_CONFIG = "adapter_config.json"
TRAINING_INFO = "training_info.json"
_SUMMARY_KEYS = (
    "peft_type",
    "base_model_name_or_path",
    "r",
    "lora_alpha",
    "lora_dropout",
    "target_modules",
    "task_type",
)


class LoRAAdapterDataset(AbstractVersionedDataset[TrainedAdapter, LoRAAdapterHandle]):
    """Saves a LoRA adapter with ``save_pretrained``; loads a small handle on it.

    A saved folder holds ``adapter_config.json`` + ``adapter_model.safetensors``
    (``PeftModel.from_pretrained(base_model, folder)`` restores it), the tokenizer
    used in training and ``training_info.json`` (prompt style, max length, mode, ...).

    ``load()`` returns a :class:`~expert_kedro.modeling.handles.LoRAAdapterHandle`
    (folder path + adapter config + base model name + training info) rather than a
    model: inference decides where and how (4-bit, device) to load the base model,
    e.g. with ``expert_kedro.modeling.base_model.load_model_for_inference(base,
    handle)``. Remote folders are downloaded to a temporary local folder first.

    Example catalog entry:

    .. code-block:: yaml

        lora_adapter:
          type: expert_kedro.datasets.LoRAAdapterDataset
          filepath: data/06_models/lora_adapter
          versioned: true

    Python API:

    .. code-block:: python

        dataset = LoRAAdapterDataset(filepath="data/06_models/lora_adapter")
        dataset.save(TrainedAdapter(model=peft_model, tokenizer=tokenizer))
        handle = dataset.load()
        model = PeftModel.from_pretrained(base_model, handle.path)
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
        """Create a ``LoRAAdapterDataset``.

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

    def save(self, data: TrainedAdapter) -> None:
        """Write adapter weights + config, tokenizer and training info."""
        if not isinstance(data, TrainedAdapter):
            raise DatasetError(
                f"LoRAAdapterDataset expects a TrainedAdapter(model, tokenizer, "
                f"training_info), got {type(data).__name__}."
            )
        if not hasattr(data.model, "peft_config"):
            raise DatasetError(
                "LoRAAdapterDataset: TrainedAdapter.model is not a peft model "
                f"({type(data.model).__name__}); wrap it with peft.get_peft_model."
            )

        def writer(folder: str) -> None:
            data.model.save_pretrained(folder)
            if data.tokenizer is not None:
                data.tokenizer.save_pretrained(folder)
            with open(f"{folder}/{TRAINING_INFO}", "w", encoding="utf-8") as file:
                json.dump(data.training_info, file, indent=2, default=str)

        save_path = self._path(self._get_save_path())
        write_folder(self._fs, self._protocol, save_path, writer)

    def _read_json(self, folder: str, name: str) -> dict[str, Any]:
        path = f"{folder}/{name}"
        if not self._fs.exists(path):
            return {}
        with self._fs.open(path, "r", encoding="utf-8") as file:
            return json.load(file)

    def load(self) -> LoRAAdapterHandle:
        """Return a handle on the (latest or pinned) adapter version."""
        remote = self._path(self._get_load_path())
        if not self._fs.exists(f"{remote}/{ADAPTER_CONFIG}"):
            raise DatasetError(
                f"No LoRA adapter at '{remote}' (missing {ADAPTER_CONFIG}). Train one "
                "with `kedro run --pipelines=model_training`."
            )
        config = self._read_json(remote, ADAPTER_CONFIG)
        return LoRAAdapterHandle(
            path=local_folder(self._fs, self._protocol, remote),
            adapter_config=config,
            base_model_name_or_path=config.get("base_model_name_or_path"),
            training_info=self._read_json(remote, TRAINING_INFO),
            version=self.resolve_load_version(),
        )

    def _exists(self) -> bool:
        try:
            path = self._path(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(f"{path}/{ADAPTER_CONFIG}")

    def _summary(self) -> dict[str, Any]:
        # Resolving the load version formats error messages with repr(self), which
        # calls _describe() again: the guard breaks that loop.
        if getattr(self, "_summarising", False):
            return {}
        self._summarising = True
        try:
            if not self._exists():
                return {}
            path = self._path(self._get_load_path())
            config = self._read_json(path, ADAPTER_CONFIG)
        finally:
            self._summarising = False
        return {key: config.get(key) for key in _SUMMARY_KEYS if key in config}

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "protocol": self._protocol,
            "version": self._version,
            "adapter": self._summary(),
        }

    def preview(self) -> JSONPreview:
        """Adapter config of the latest version, for kedro-viz."""
        return JSONPreview(json.dumps(self._summary(), default=str))

"""``BaseModelDataset``: the prepared base model folder (a cache in data/06_models)."""

from __future__ import annotations

import json
import os
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path
from kedro_datasets._typing import JSONPreview

from expert_kedro.datasets._folders import local_folder, write_folder
from expert_kedro.modeling.handles import BaseModelHandle, PreparedBaseModel

PREPARED_FROM = "prepared_from.json"


class BaseModelDataset(AbstractDataset[PreparedBaseModel | BaseModelHandle, Any]):
    """A base model ready for ``from_pretrained``; loads a lightweight handle.

    Saving a :class:`~expert_kedro.modeling.handles.PreparedBaseModel` writes a plain
    Hugging Face folder (safetensors + config + tokenizer) plus ``prepared_from.json``
    (the source fingerprint), atomically. Saving a
    :class:`~expert_kedro.modeling.handles.BaseModelHandle` that points elsewhere (a
    Hub id or a local HF folder that needs no conversion) writes only
    ``prepared_from.json`` as a reference, so an 8B checkpoint is never copied;
    saving a handle of this very folder is a no-op.

    ``load()`` returns a :class:`~expert_kedro.modeling.handles.BaseModelHandle`. With
    ``missing_ok: true`` it returns ``None`` when nothing is prepared yet: the
    ``prepare_base_model_node`` takes such an entry as input to skip the slow
    conversion when the folder already holds the same source.

    Example catalog entry:

    .. code-block:: yaml

        base_model:
          type: expert_kedro.datasets.BaseModelDataset
          filepath: data/06_models/base_model
    """

    def __init__(
        self,
        *,
        filepath: str,
        missing_ok: bool = False,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Create a ``BaseModelDataset``.

        Args:
            filepath: Folder path (local or fsspec URL).
            missing_ok: Load ``None`` instead of failing when the folder is absent.
            credentials: ``{"token": ...}`` for gated Hub references; the token is
                handed to the loaded handle, never written to disk.
            fs_args: Extra arguments for the fsspec filesystem.
            metadata: Free-form metadata; ignored by Kedro.
        """
        protocol, path = get_protocol_and_path(filepath)
        fs_args = deepcopy(fs_args) or {}
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._path = path if protocol == "file" else f"{protocol}://{path}"
        self._fs = fsspec.filesystem(protocol, **fs_args)
        self._missing_ok = missing_ok
        # Kedro credentials first, then the HF_TOKEN environment variable (also
        # huggingface_hub's own fallback, made explicit so the handle carries it).
        self._token = (credentials or {}).get("token") or os.environ.get("HF_TOKEN")
        self.metadata = metadata

    def _read_prepared_from(self) -> dict[str, Any]:
        with self._fs.open(f"{self._path}/{PREPARED_FROM}", "r") as file:
            return json.load(file)

    def load(self) -> BaseModelHandle | None:
        """Return a handle on the prepared folder, or on the referenced checkpoint."""
        if not self._exists():
            if self._missing_ok:
                return None
            raise DatasetError(
                f"No prepared base model at '{self._path}' (missing {PREPARED_FROM}). "
                "Run `kedro run --pipelines=model_training` to prepare it."
            )
        info = self._read_prepared_from()
        if info.get("reference") is None:
            path = local_folder(self._fs, self._protocol, self._path)
        else:
            path = info["reference"]
        return BaseModelHandle(
            path=path,
            source=info.get("source", {}),
            revision=info.get("revision"),
            token=self._token,
        )

    def save(self, data: PreparedBaseModel | BaseModelHandle) -> None:
        """Write the converted model, or a reference to an existing checkpoint."""
        if isinstance(data, BaseModelHandle):
            if data.path == self._path or PurePosixPath(data.path) == PurePosixPath(
                self._path
            ):
                return  # already prepared here: nothing to write
            info = {"source": data.source, "reference": data.path}
            info["revision"] = data.revision
            model = tokenizer = None
        elif isinstance(data, PreparedBaseModel):
            info = {"source": data.source, "reference": None}
            model, tokenizer = data.model, data.tokenizer
        else:
            raise DatasetError(
                "BaseModelDataset expects a PreparedBaseModel or a BaseModelHandle, "
                f"got {type(data).__name__}."
            )

        def writer(folder: str) -> None:
            if model is not None:
                model.save_pretrained(folder)
                tokenizer.save_pretrained(folder)
            with open(f"{folder}/{PREPARED_FROM}", "w", encoding="utf-8") as file:
                json.dump(info, file, indent=2)

        write_folder(self._fs, self._protocol, self._path, writer)

    def _exists(self) -> bool:
        return self._fs.exists(f"{self._path}/{PREPARED_FROM}")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._path, "missing_ok": self._missing_ok}

    def preview(self) -> JSONPreview:
        """Source fingerprint and model config summary, for kedro-viz."""
        if not self._exists():
            return JSONPreview(json.dumps({}))
        info = self._read_prepared_from()
        config_path = f"{self._path}/config.json"
        if self._fs.exists(config_path):
            with self._fs.open(config_path, "r") as file:
                config = json.load(file)
            keys = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")
            info["config"] = {key: config.get(key) for key in keys}
        return JSONPreview(json.dumps(info))

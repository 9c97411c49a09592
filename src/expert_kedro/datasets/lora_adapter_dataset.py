"""``LoRAAdapterDataset``: versioned folders of peft LoRA adapters + tokenizer."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets._typing import JSONPreview

from expert_kedro.datasets._folders import (
    VersionedFolderDataset,
    abandoned_temp_folder,
)
from expert_kedro.modeling.handles import LoRAAdapterHandle, TrainedAdapter

logger = logging.getLogger(__name__)

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


class LoRAAdapterDataset(VersionedFolderDataset[TrainedAdapter, LoRAAdapterHandle]):
    """Saves a LoRA adapter with ``save_pretrained``; loads a small handle on it.

    A saved folder holds ``adapter_config.json`` + ``adapter_model.safetensors``
    (``PeftModel.from_pretrained(base_model, folder)`` restores it), the tokenizer
    used in training and ``training_info.json`` (prompt style, max length, mode, ...).

    ``load()`` returns a :class:`~expert_kedro.modeling.handles.LoRAAdapterHandle`
    (folder path + adapter config + base model name + training info) rather than a
    model: inference decides where and how (4-bit, device) to load the base model,
    e.g. with ``expert_kedro.modeling.base_model.load_model_for_inference(base,
    handle)``. Remote folders are downloaded to a temporary local folder first.

    A run killed while saving leaves a version folder without an adapter (only the
    hidden folder the save was filling). Loading never picks it; ``save()`` removes
    such leftovers of a dead process on this host, and ``load()``/``save()`` log the
    ones they cannot prove abandoned (local filesystems).

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

    MARKER = ADAPTER_CONFIG
    MISSING = (
        "No LoRA adapter at '{path}' (missing {marker}). Train one with "
        "`kedro run --pipelines=model_training`."
    )

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

        self._write_folder(writer)

    def _before_write(self) -> None:
        self._check_orphan_versions(clean=True)

    def _orphan_versions(self) -> list[Path]:
        if self._protocol != "file" or self._version is None:
            return []
        root = Path(self._path(self._filepath))
        if not root.is_dir():
            return []
        return sorted(
            folder
            for folder in root.iterdir()
            if folder.is_dir() and not (folder / root.name).exists()
        )

    def _check_orphan_versions(self, *, clean: bool) -> None:
        # A version folder holding the final adapter folder is never touched.
        for version in self._orphan_versions():
            name = version.parent.name
            abandoned = [
                child
                for child in version.iterdir()
                if clean and child.is_dir() and abandoned_temp_folder(child, name)
            ]
            for child in abandoned:
                shutil.rmtree(child)
            if abandoned and not any(version.iterdir()):
                version.rmdir()
                logger.info(
                    "Removed adapter version %s: its save was killed (the writing "
                    "process is gone) and left no adapter",
                    version,
                )
                continue
            logger.warning(
                "Adapter version %s holds no %s: a save was killed or is still "
                "running. Loading ignores it; delete the folder once no run is "
                "writing it.",
                version,
                name,
            )

    def load(self) -> LoRAAdapterHandle:
        """Return a handle on the (latest or pinned) adapter version."""
        self._check_orphan_versions(clean=False)
        remote = self._load_folder()
        config = self._read_json(f"{remote}/{ADAPTER_CONFIG}")
        info = f"{remote}/{TRAINING_INFO}"
        return LoRAAdapterHandle(
            path=self._local_folder(remote),
            adapter_config=config,
            base_model_name_or_path=config.get("base_model_name_or_path"),
            training_info=self._read_json(info) if self._fs.exists(info) else {},
            version=self.resolve_load_version(),
        )

    def _summary(self) -> dict[str, Any]:
        config = self._read_marker()
        return {key: config.get(key) for key in _SUMMARY_KEYS if key in config}

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "adapter": self._summary()}

    def preview(self) -> JSONPreview:
        """Adapter config of the latest version, for kedro-viz."""
        return JSONPreview(json.dumps(self._summary(), default=str))

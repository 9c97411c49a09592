"""``ServedModelDataset``: versioned exports of the merged model + adapter + card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets._typing import JSONPreview

from expert_kedro.datasets._folders import VersionedFolderDataset
from expert_kedro.modeling.handles import ServedModel, ServedModelHandle

MERGED, ADAPTER = "merged", "adapter"
MODEL_CARD, README = "model_card.json", "README.md"
# Files of a peft adapter folder that a serving stack needs (training_info.json
# and the tokenizer travel in model_card.json and merged/).
_ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
_PREVIEW_KEYS = ("model", "base_model", "adapter", "prompt")


class ServedModelDataset(VersionedFolderDataset[ServedModel, ServedModelHandle]):
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

    MARKER = MODEL_CARD
    MISSING = (
        "No exported model at '{path}' (missing {marker}). Export one with "
        "`kedro run --pipelines=export`."
    )

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

        self._write_folder(writer)

    def load(self) -> ServedModelHandle:
        """Return a handle on the (latest or pinned) export."""
        remote = self._load_folder()
        card = self._read_json(f"{remote}/{MODEL_CARD}")
        path = self._local_folder(remote)
        adapter = Path(path, ADAPTER)
        return ServedModelHandle(
            path=path,
            merged_path=str(Path(path, MERGED)),
            adapter_path=str(adapter) if adapter.is_dir() else None,
            card=card,
            version=self.resolve_load_version(),
        )

    def preview(self) -> JSONPreview:
        """Model facts, sources and prompt layout of the latest export (kedro-viz)."""
        card = self._read_marker()
        summary = {key: card[key] for key in _PREVIEW_KEYS if key in card}
        return JSONPreview(json.dumps(summary, default=str))

"""Lightweight handles that catalog datasets hand to nodes instead of loaded models.

Loading an 8B model belongs on the device chosen at training time, in 4 bit, so
datasets return these small descriptions and the nodes load weights through
:mod:`expert_kedro.modeling.base_model`. Tokens are kept out of ``repr`` so they never
reach logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any


def same_source(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """Whether two :meth:`ModelSource.fingerprint` s name the same weights.

    A GGUF file is identified by its file name and the folder (package) that ships
    it, not by where that folder is installed: site-packages differs between a
    laptop, CI and a GPU box, and an adapter trained on one must load on the others.
    Hub ids and plain local folders are compared as written.

    Args:
        recorded: Fingerprint stored with a prepared folder or an adapter.
        current: Fingerprint of the configured source.
    """
    if recorded.get("gguf_file") != current.get("gguf_file"):
        return False
    if (recorded.get("revision") or None) != (current.get("revision") or None):
        return False
    names = [str(f.get("name_or_path") or "").rstrip("/") for f in (recorded, current)]
    if current.get("gguf_file"):
        return PurePath(names[0]).name == PurePath(names[1]).name
    return names[0] == names[1]


@dataclass(frozen=True)
class ModelSource:
    """Where the base model's weights come from (``base_model_source`` dataset).

    Attributes:
        name_or_path: Hugging Face Hub id or local folder. For a GGUF source, the
            folder (or Hub repo) that holds ``gguf_file``.
        gguf_file: GGUF file name inside ``name_or_path``, or None for a plain
            Hugging Face checkpoint.
        revision: Hub revision (branch, tag or commit), or None for the default.
        token: Hugging Face token for gated models; never printed.
    """

    name_or_path: str
    gguf_file: str | None = None
    revision: str | None = None
    token: str | None = field(default=None, repr=False, compare=False)

    @property
    def is_gguf(self) -> bool:
        """True when the weights are a GGUF file that must be de-quantized first."""
        return self.gguf_file is not None

    def fingerprint(self) -> dict[str, Any]:
        """Identify the source; a prepared folder is reused only for the same one."""
        return {
            "name_or_path": self.name_or_path,
            "gguf_file": self.gguf_file,
            "revision": self.revision,
        }

    def describe(self) -> str:
        """Human-readable description for logs and errors."""
        where = self.name_or_path + (f"@{self.revision}" if self.revision else "")
        return f"GGUF {self.gguf_file} in {where}" if self.is_gguf else where


@dataclass(frozen=True)
class BaseModelHandle:
    """A base model ready for ``from_pretrained`` (``base_model`` dataset).

    Attributes:
        path: What to pass to ``from_pretrained``: the prepared local folder, or the
            Hub id / local folder of a plain checkpoint that needed no conversion.
        source: :meth:`ModelSource.fingerprint` of the source it was prepared from.
        revision: Hub revision when ``path`` is a Hub id.
        token: Hugging Face token for gated models; never printed.
    """

    path: str
    source: dict[str, Any]
    revision: str | None = None
    token: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LoRAAdapterHandle:
    """A saved LoRA adapter (``lora_adapter`` dataset, one version).

    Attributes:
        path: Local folder holding ``adapter_config.json`` and
            ``adapter_model.safetensors`` (load with
            ``PeftModel.from_pretrained(base, path)``) and the tokenizer used in
            training (``AutoTokenizer.from_pretrained(path)``).
        adapter_config: Contents of ``adapter_config.json`` (r, lora_alpha,
            target_modules, ...).
        base_model_name_or_path: The base model the adapter was trained on, as
            recorded by peft.
        training_info: Contents of ``training_info.json`` (prompt style, max length,
            mode, ...) when present, else an empty dict.
        version: The Kedro version (timestamp) of the loaded folder, or None when
            the dataset is not versioned: an exported model names it so that a
            served checkpoint can be traced back to its training run, and values
            tuned for this adapter, such as the rerank fusion weight, are recorded
            against it.
    """

    path: str
    adapter_config: dict[str, Any]
    base_model_name_or_path: str | None
    training_info: dict[str, Any] = field(default_factory=dict)
    version: str | None = None


@dataclass
class PreparedBaseModel:
    """A converted base model in memory, to be written by the ``base_model`` dataset.

    Attributes:
        model: ``PreTrainedModel`` with plain (non-quantized) weights.
        tokenizer: Its tokenizer, special tokens fixed.
        source: :meth:`ModelSource.fingerprint` of where it came from.
    """

    model: Any
    tokenizer: Any
    source: dict[str, Any]


@dataclass
class TrainedAdapter:
    """A trained LoRA adapter in memory, to be written by ``LoRAAdapterDataset``.

    Attributes:
        model: The ``PeftModel`` (only its adapter weights are saved).
        tokenizer: The tokenizer used for training, saved beside the adapter.
        training_info: JSON-serialisable facts inference needs (prompt style,
            max length, mode, base model source, ...).
    """

    model: Any
    tokenizer: Any
    training_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServedModel:
    """A merged model ready to serve, to be written by ``ServedModelDataset``.

    Attributes:
        model: ``PreTrainedModel`` with the LoRA deltas folded into its weights,
            already in the serving dtype.
        tokenizer: The tokenizer used in training (chat template included).
        card: JSON-serialisable model card: sources, training facts and the
            prompt layout the model expects.
        readme: The same card as Markdown, for people and model hubs.
        adapter_path: Local folder of the peft adapter to copy beside the merged
            weights, or None to export the merged model only.
        max_shard_size: Largest safetensors file written (``"5GB"``, ...).
    """

    model: Any
    tokenizer: Any
    card: dict[str, Any]
    readme: str
    adapter_path: str | None = None
    max_shard_size: str = "5GB"


@dataclass(frozen=True)
class ServedModelHandle:
    """An exported model (``served_model`` dataset, one version).

    Attributes:
        path: Local folder of the export.
        merged_path: Its ``merged/`` folder: a plain Hugging Face checkpoint
            (``AutoModelForCausalLM.from_pretrained(merged_path)``).
        adapter_path: Its ``adapter/`` folder (``PeftModel.from_pretrained(base,
            adapter_path)``), or None when the adapter was not exported.
        card: Contents of ``model_card.json``.
        version: The Kedro version of the export, or None when not versioned.
    """

    path: str
    merged_path: str
    adapter_path: str | None
    card: dict[str, Any]
    version: str | None = None

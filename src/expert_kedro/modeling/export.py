"""Export for serving: the LoRA adapter folded into its base model, in one dtype.

Training leaves a peft adapter that only this project knows how to put back on its
base model (prepared from a GGUF, loaded in 4-bit). A serving stack (plain
transformers, vLLM, TGI) wants one ordinary checkpoint instead. :func:`merge_adapter`
builds it with the project's own loaders:

1. the base model is loaded in float32, *not* in 4-bit, on the CPU: merged weights
   must be real numbers to save, and float32 keeps the sum ``W + B @ A * scale``
   exact before the single rounding to the serving dtype. Merging is a one-off sum
   per weight, so the CPU is fast enough and an 8B model's 32 GB of float32 weights
   never has to fit on a GPU;
2. the adapter (trained on the 4-bit base: QLoRA) is attached with peft, exactly
   as the project's CPU inference does, and ``merge_and_unload`` folds it in;
3. the merged model is cast to the serving dtype (bfloat16 by default: the dtype
   the model computed in while training).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from expert_kedro.modeling.base_model import load_model_for_inference
from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.modeling.hardware import detect_hardware

logger = logging.getLogger(__name__)

DTYPES = ("bfloat16", "float16", "float32")
"""Serving dtypes: bfloat16 (GPUs since Ampere, modern CPUs), float16 (older GPUs
such as the T4 or V100), float32 (reference checks)."""

MERGE_QUANTIZATION: dict[str, Any] = {"load_in_4bit": False, "compute_dtype": "float32"}
"""Full-precision weights: 4-bit weights cannot absorb a LoRA delta exactly."""


@dataclass(frozen=True)
class ExportSettings:
    """Validated ``export`` parameters (conf/base/parameters_export.yml).

    Attributes:
        dtype: Dtype of the merged weights, one of :data:`DTYPES`.
        copy_adapter: Also export the peft adapter, for stacks that serve LoRA
            adapters on a shared base model (vLLM ``--enable-lora``, TGI
            ``LORA_ADAPTERS``).
        max_shard_size: Largest safetensors file of the merged folder (``"5GB"``,
            or a number of bytes): serving tools load several shards in parallel.
    """

    dtype: str = "bfloat16"
    copy_adapter: bool = True
    max_shard_size: str | int = "5GB"

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> ExportSettings:
        """Build from the ``export`` parameter group.

        Raises:
            ValueError: Naming the offending ``export.*`` parameter.
        """
        params = dict(params or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"Unknown export parameter(s) {unknown}; known: {sorted(known)}."
            )
        settings = cls(**params)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Check the choices.

        Raises:
            ValueError: Naming the offending parameter.
        """
        from transformers.utils.hub import (  # noqa: PLC0415 - heavy import
            convert_file_size_to_int,
        )

        if self.dtype not in DTYPES:
            raise ValueError(f"export.dtype={self.dtype!r}: use one of {DTYPES}.")
        if not isinstance(self.copy_adapter, bool):
            raise ValueError(
                f"export.copy_adapter={self.copy_adapter!r}: use true or false."
            )
        try:
            convert_file_size_to_int(self.max_shard_size)
        except (ValueError, TypeError):
            raise ValueError(
                f"export.max_shard_size={self.max_shard_size!r}: use a size such as "
                "'5GB' or a number of bytes."
            ) from None


def merge_adapter(
    base_model: BaseModelHandle | str,
    adapter: LoRAAdapterHandle,
    dtype: str = "bfloat16",
) -> tuple[Any, Any]:
    """Fold a LoRA adapter into a full-precision load of its base model.

    Args:
        base_model: ``base_model`` handle (or a Hugging Face folder / Hub id).
        adapter: ``lora_adapter`` handle.
        dtype: Dtype of the returned weights, one of :data:`DTYPES`.

    Returns:
        ``(model, tokenizer)``: a plain ``PreTrainedModel`` (no peft layers) on the
        CPU in ``dtype``, and the tokenizer saved with the adapter, padding on the
        left so that batched prompts all end at the last position, where serving
        reads the next-token scores.

    Raises:
        ValueError: If ``dtype`` is unknown, or peft finds NaNs in the merged
            weights (a broken adapter).
    """
    import torch  # noqa: PLC0415 - heavy import

    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; use one of {DTYPES}.")
    # Keep the detected facts (logged) but load on the CPU even on a GPU machine.
    hardware = replace(detect_hardware(), device="cpu", device_count=0)
    model, tokenizer = load_model_for_inference(
        base_model, adapter, MERGE_QUANTIZATION, hardware=hardware
    )
    # safe_merge: sums in a copy and refuses NaNs instead of saving a broken model.
    merged = model.merge_and_unload(safe_merge=True)
    merged = merged.to(getattr(torch, dtype)).eval()
    # save_pretrained writes init_kwargs, not the attribute: set both so that the
    # exported tokenizer pads on the left when loaded elsewhere.
    tokenizer.padding_side = tokenizer.init_kwargs["padding_side"] = "left"
    logger.info(
        "Merged LoRA adapter %s (version %s) into %s, saved as %s",
        adapter.path,
        adapter.version,
        getattr(base_model, "path", base_model),
        dtype,
    )
    return merged, tokenizer


def model_facts(model: Any) -> dict[str, Any]:
    """What a serving stack needs to know about a merged model, for its card.

    Args:
        model: A ``PreTrainedModel``.

    Returns:
        Architecture, model type, dtype, parameter count, context length and
        vocabulary size.
    """
    config = model.config
    return {
        "architectures": list(config.architectures or [type(model).__name__]),
        "model_type": config.model_type,
        "dtype": str(model.dtype).removeprefix("torch."),
        "parameters": int(model.num_parameters()),
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
        "vocab_size": getattr(config, "vocab_size", None),
    }

"""Loading a prepared base model (4-bit by default) and its tokenizer.

* :func:`load_tokenizer`, :func:`load_base_model` - load a prepared/plain model, by
  default in 4-bit NF4 with double quantization and bf16 compute.
* :func:`load_model_for_inference` - base model + LoRA adapter, ready to score.

Where the weights are is checked first (:mod:`expert_kedro.modeling.model_source`);
GGUF checkpoints are converted once by :mod:`expert_kedro.modeling.gguf`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from expert_kedro.modeling.distributed import model_device_map
from expert_kedro.modeling.handles import BaseModelHandle, LoRAAdapterHandle
from expert_kedro.modeling.hardware import (
    HardwareInfo,
    build_quantization_config,
    detect_hardware,
    select_compute_dtype,
)
from expert_kedro.modeling.model_source import (
    FIX_HINT,
    ModelNotReachableError,
    resolve_model_source,
)
from expert_kedro.modeling.settings import QuantizationSettings
from expert_kedro.modeling.varlen_attention import VARLEN, register_varlen_attention

logger = logging.getLogger(__name__)


def _path_and_auth(
    model: BaseModelHandle | str, required_file: str = "config.json"
) -> tuple[str, dict[str, Any]]:
    if isinstance(model, BaseModelHandle):
        path, auth = model.path, {"revision": model.revision, "token": model.token}
    else:
        path, auth = str(model), {}
    # Fail early with the actionable message rather than a deep loader traceback.
    resolve_model_source(path, required_file=required_file, **auth)
    return path, auth


def load_tokenizer(model: BaseModelHandle | LoRAAdapterHandle | str) -> Any:
    """Load the tokenizer of a base model (or the one saved beside an adapter).

    A missing pad token is set to EOS (labels carry the loss mask, so padding never
    trains), and padding is on the right for training.

    Args:
        model: A :class:`BaseModelHandle`, :class:`LoRAAdapterHandle` or a
            path/Hub id.

    Returns:
        A Hugging Face tokenizer.
    """
    from transformers import AutoTokenizer  # noqa: PLC0415

    if isinstance(model, LoRAAdapterHandle):
        model = model.path
    path, auth = _path_and_auth(model, required_file="tokenizer_config.json")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **auth)
    except OSError as exc:
        raise ModelNotReachableError(
            f"Tokenizer of base model '{path}' could not be loaded: {exc}. {FIX_HINT}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def load_base_model(
    model: BaseModelHandle | str,
    quantization: QuantizationSettings | Mapping[str, Any] | None = None,
    *,
    hardware: HardwareInfo | None = None,
    attn_implementation: str | None = "sdpa",
) -> Any:
    """Load a causal LM, by default quantized to 4-bit NF4 on the detected device.

    Args:
        model: A :class:`BaseModelHandle` (``base_model`` dataset) or a local
            folder / Hub id.
        quantization: The ``model_training.quantization`` settings, or a
            (partial) mapping of them; None: every default (4-bit NF4, double
            quantization, bf16 compute where supported). ``load_in_4bit: false``
            loads full weights in the compute dtype.
        hardware: Result of ``detect_hardware()``; detected when omitted.
        attn_implementation: Attention kernel (``"sdpa"``, ``"eager"``,
            ``"varlen"`` (padding-free rows through PyTorch's variable-length
            FlashAttention, see :mod:`expert_kedro.modeling.varlen_attention`),
            ``"flash_attention_2"``, ...).

    Returns:
        A ``PreTrainedModel`` on this process's GPU (``LOCAL_RANK``, 0 without a
        distributed launch; see ``distributed.model_device_map``) or the CPU.

    Raises:
        ModelNotReachableError: If the weights cannot be found.
    """
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    quantization = QuantizationSettings.coerce(quantization)
    hardware = hardware or detect_hardware()
    bnb_config = build_quantization_config(quantization, hardware)
    dtype = select_compute_dtype(quantization.compute_dtype, hardware)
    path, auth = _path_and_auth(model)
    if attn_implementation == VARLEN:
        register_varlen_attention()
    # Under DDP each process loads onto its own GPU; under FSDP no device map.
    device_map = model_device_map(hardware.device)
    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            path,
            quantization_config=bnb_config,
            dtype=dtype,
            device_map=device_map,
            attn_implementation=attn_implementation,
            **auth,
        )
    except OSError as exc:
        raise ModelNotReachableError(
            f"Weights of base model '{path}' could not be loaded: "
            f"{str(exc).splitlines()[0]}. {FIX_HINT}"
        ) from None
    logger.info(
        "Loaded %s (%s, %.1f M parameters) on %s",
        path,
        "4-bit" if bnb_config else dtype,
        loaded.num_parameters() / 1e6,
        hardware.device,
    )
    return loaded


def load_model_for_inference(
    base_model: BaseModelHandle | str,
    adapter: LoRAAdapterHandle | str | None = None,
    quantization: QuantizationSettings | Mapping[str, Any] | None = None,
    *,
    hardware: HardwareInfo | None = None,
) -> tuple[Any, Any]:
    """Load base model (4-bit by default) + optional LoRA adapter, in eval mode.

    Args:
        base_model: ``base_model`` dataset handle or a path / Hub id.
        adapter: ``lora_adapter`` dataset handle or an adapter folder; None scores
            with the bare base model.
        quantization: As for :func:`load_base_model`.
        hardware: As for :func:`load_base_model`.

    Returns:
        ``(model, tokenizer)``; the tokenizer is the one saved with the adapter when
        there is one (identical special tokens to training), else the base one.
    """
    from peft import PeftModel  # noqa: PLC0415

    model = load_base_model(base_model, quantization, hardware=hardware)
    if adapter is None:
        tokenizer = load_tokenizer(base_model)
    else:
        is_handle = isinstance(adapter, LoRAAdapterHandle)
        adapter_path = adapter.path if is_handle else adapter
        model = PeftModel.from_pretrained(model, adapter_path)
        has_tokenizer = (Path(adapter_path) / "tokenizer_config.json").is_file()
        tokenizer = load_tokenizer(adapter_path if has_tokenizer else base_model)
    model.eval()
    return model, tokenizer

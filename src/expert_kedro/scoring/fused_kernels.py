"""Liger's fused Triton kernels on a loaded model, for inference on CUDA.

A rerank pass of the 8B architecture spends a large share of its GPU time in
elementwise work around the matrix products: RMSNorm upcast to fp32 and back,
RoPE's rotate-and-add, SiLU times the up projection (GPU profiles in
``benchmarks/results/profiles/``). Liger (the ``gpu`` extra, also the
training pipeline's ``use_liger_kernel``) fuses each into one kernel.

Liger also swaps the architecture's module-level classes (``LlamaRMSNorm``,
``LlamaMLP``), which would give every model built later in the process its
CUDA-only modules; those swaps are undone here, the loaded model keeps its
patched instances. RoPE stays swapped: it is a module-level function that the
attention calls by name, so every model of that architecture in the process gets
Liger's RoPE (the same values).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger(__name__)


class FusedKernelsUnavailableError(RuntimeError):
    """Fused kernels were asked for where they cannot run."""


def apply_fused_kernels(model: Any) -> None:
    """Patch RMSNorm, SwiGLU and RoPE of a (peft-wrapped) model with Liger kernels.

    Args:
        model: A loaded transformers causal LM on a CUDA device, or its peft wrapper.

    Raises:
        FusedKernelsUnavailableError: Without CUDA, without the ``liger-kernel``
            package, or for an architecture Liger does not cover.
    """
    import torch  # noqa: PLC0415 - heavy import

    if not torch.cuda.is_available():
        raise FusedKernelsUnavailableError(
            "recommender.fused_kernels needs a CUDA GPU (Liger's kernels are "
            "Triton); set it to false on this machine."
        )
    try:
        from liger_kernel.transformers.monkey_patch import (  # noqa: PLC0415
            MODEL_TYPE_TO_APPLY_LIGER_FN,
            _apply_liger_kernel_to_instance,
        )
    except ImportError:
        raise FusedKernelsUnavailableError(
            "recommender.fused_kernels needs liger-kernel: pip install "
            "'expert_kedro[gpu]', or set it to false."
        ) from None
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    model_type = getattr(base.config, "model_type", None)
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        raise FusedKernelsUnavailableError(
            f"Liger has no kernels for model type {model_type!r}; set "
            "recommender.fused_kernels to false."
        )
    module = sys.modules[type(base).__module__]
    classes = {k: v for k, v in vars(module).items() if isinstance(v, type)}
    # No loss kernels: inference reads logits, it computes no loss.
    _apply_liger_kernel_to_instance(
        model=base,
        rope=True,
        rms_norm=True,
        swiglu=True,
        cross_entropy=False,
        fused_linear_cross_entropy=False,
    )
    for name, cls in classes.items():
        setattr(module, name, cls)
    logger.info("Liger kernels (RMSNorm, SwiGLU, RoPE) applied to %s.", model_type)

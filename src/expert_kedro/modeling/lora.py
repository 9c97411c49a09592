"""The LoRA adapter put on the (4-bit) base model before training (peft)."""

from __future__ import annotations

import logging
from typing import Any

from expert_kedro.modeling.settings import LoraSettings
from expert_kedro.modeling.trainer_recipe import TrainingSettings

logger = logging.getLogger(__name__)


def build_lora_config(lora: LoraSettings) -> Any:
    """The peft ``LoraConfig`` of the ``model_training.lora`` parameters.

    Args:
        lora: Rank, scale, dropout, target modules and bias.

    Returns:
        A ``peft.LoraConfig`` for causal language modeling.
    """
    from peft import LoraConfig  # noqa: PLC0415

    target = lora.target_modules
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=target if isinstance(target, str) else list(target),
        bias=lora.bias,
        task_type="CAUSAL_LM",
    )


def pack_4bit_layout(model: Any) -> int:
    """Put bitsandbytes' 4-bit weights in their final CPU layout before training.

    On a CPU with AVX-512 BF16, a bitsandbytes ``Linear4bit`` run in eval mode
    without gradients (an evaluation, the ranking validation) converts its weights
    in place to a packed layout for its fast CPU kernel, rounding the quantization
    scales to bfloat16 on the way, and every later step computes with it. Left to
    chance, an uninterrupted run converts at its step-0 evaluation and a resumed one
    only at its first evaluation after the checkpoint, so their losses part from the
    first resumed step. One forward pass of one token in eval mode converts every
    layer before the first step of any run, fresh or resumed, so all of a run's
    steps and evaluations use the same weights (and the packed layout trains about
    15% faster there than the loaded one). A no-op on GPUs and other CPUs.

    Args:
        model: The quantized model about to be trained.

    Returns:
        How many layers were converted.
    """
    import torch  # noqa: PLC0415 - heavy import

    layers = [
        module
        for module in model.modules()
        if getattr(module, "support_avx512bf16_for_cpu", False)
        and getattr(module.weight, "device", None) is not None
        and module.weight.device.type == "cpu"
    ]
    if not layers:
        return 0
    training = model.training
    model.eval()
    with torch.no_grad():
        model(input_ids=torch.zeros((1, 1), dtype=torch.long))
    model.train(training)
    logger.info(
        "bitsandbytes' packed CPU layout set for %d 4-bit layers before training",
        len(layers),
    )
    return len(layers)


def prepare_peft_model(
    model: Any, lora: LoraSettings, training: TrainingSettings
) -> Any:
    """``model`` with its frozen parts prepared and a fresh LoRA adapter on top.

    Args:
        model: A causal LM, 4-bit or not.
        lora: The adapter.
        training: The recipe (``upcast_frozen``, ``gradient_checkpointing``).

    Returns:
        The ``PeftModel`` whose LoRA weights alone are trainable.
    """
    from peft import get_peft_model, prepare_model_for_kbit_training  # noqa: PLC0415

    quantized = getattr(model, "is_loaded_in_4bit", False) or getattr(
        model, "is_loaded_in_8bit", False
    )
    if quantized and training.upcast_frozen:
        # peft's recipe: frozen norms, embeddings and head in float32 (stabler on
        # fp16 hardware; costs fp32 logits and activations).
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=training.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif quantized:
        # Frozen parts stay in the load dtype (bf16 on GPU): no fp32 logits or
        # norm outputs. The Trainer turns gradient checkpointing on itself.
        for param in model.parameters():
            param.requires_grad_(False)
    if quantized:
        pack_4bit_layout(model)
    model = get_peft_model(model, build_lora_config(lora))
    trainable, total = model.get_nb_trainable_parameters()
    logger.info(
        "LoRA: %.2f M trainable of %.1f M parameters (%.3f%%)",
        trainable / 1e6,
        total / 1e6,
        100 * trainable / total,
    )
    return model

"""``trl.SFTConfig`` from the ``model_training.training`` recipe.

The recipe's keys are ``SFTConfig`` fields and go over as written; the project adds
what follows from the run itself (seed, device, whether there are validation
examples, whether it resumes) and what its data layout needs (examples are already
tokenized and truncated, losses only, non-padding tokens counted).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from expert_kedro.modeling.hardware import HardwareInfo
from expert_kedro.modeling.trainer_recipe import PROJECT_TRAINING_KEYS, TrainingSettings

# SFTConfig fields whose library default does not suit the project's data layout
# or logs; the recipe may still set them (e.g. report_to: wandb).
PROJECT_SFT_DEFAULTS: dict[str, Any] = {
    "logging_first_step": True,
    "prediction_loss_only": True,
    "save_strategy": "steps",
    "gradient_checkpointing_kwargs": {"use_reentrant": False},
    # Throughput counts real tokens: padding is not work done.
    "include_num_input_tokens_seen": "non_padding",
    # Examples arrive tokenized (input_ids, labels): trl must not re-tokenize.
    "dataset_kwargs": {"skip_prepare_dataset": True},
    "report_to": "none",
    "disable_tqdm": False,
}


def use_bf16(training: TrainingSettings, hardware: HardwareInfo) -> bool:
    """Whether the trainer runs bf16 mixed precision on ``hardware``."""
    if training.bf16 == "auto":
        # Mixed-precision autocast pays off on GPUs. On CPU the 4-bit layers already
        # compute in bf16, and autocast only added casts (measured ~2x slower).
        return hardware.device == "cuda" and hardware.bf16_supported
    return bool(training.bf16) and hardware.bf16_supported


def recipe_arguments(training: TrainingSettings) -> dict[str, Any]:
    """The recipe's ``SFTConfig`` fields, as written in the parameters."""
    declared = {
        f.name: getattr(training, f.name)
        for f in dataclasses.fields(training)
        if f.name not in PROJECT_TRAINING_KEYS and f.name != "sft_args"
    }
    return {**declared, **training.sft_args}


def build_sft_config(
    training: TrainingSettings,
    hardware: HardwareInfo,
    *,
    seed: int,
    has_eval: bool,
    resuming: bool,
) -> Any:
    """The ``SFTConfig`` of one training run.

    Args:
        training: The ``model_training.training`` recipe.
        hardware: Device the run trains on.
        seed: Seed of the LoRA init, data order and dropout.
        has_eval: Whether validation examples are evaluated.
        resuming: Whether the run continues from a checkpoint.

    Raises:
        ValueError: Naming ``model_training.training`` when ``SFTConfig`` refuses
            the recipe (e.g. a value of the wrong kind for a further field).
    """
    from trl import SFTConfig  # noqa: PLC0415 - heavy import

    derived = {
        "output_dir": training.checkpoint_dir,
        "eval_strategy": "steps" if has_eval else "no",
        # The step-0 loss of a resumed run is already in the checkpoint's log; a
        # second one at the resumed step would break the uninterrupted history.
        "eval_on_start": has_eval and not resuming,
        "seed": seed,
        "data_seed": seed,
        "bf16": use_bf16(training, hardware),
        "train_sampling_strategy": (
            "group_by_length" if training.group_by_length else "random"
        ),
        "max_length": None,  # examples are truncated at tokenization time
        "use_cpu": hardware.device == "cpu",
    }
    try:
        return SFTConfig(
            **{**PROJECT_SFT_DEFAULTS, **recipe_arguments(training)}, **derived
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"trl.SFTConfig refused the model_training.training recipe: {exc}"
        ) from None

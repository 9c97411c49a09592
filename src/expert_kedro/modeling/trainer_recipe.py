"""The ``model_training.training`` sub-group: the trainer recipe, typed.

Its keys are ``trl.SFTConfig`` fields handed over as written
(:mod:`expert_kedro.modeling.sft_config` builds the config), apart from the few the
project interprets itself (:data:`PROJECT_TRAINING_KEYS`). Further ``SFTConfig``
fields may be written in the group as they are; any other key is refused with its
name. trl is imported only to check such further keys (it is slow to import).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from expert_kedro.settings_base import ParameterSettings

# Keys of model_training.training that are not handed to SFTConfig as written:
# the checkpoint folder (SFTConfig's output_dir), the resume request (true, false or
# a folder, resolved against the checkpoints on disk), bf16's "auto", the sampling
# switch and peft's float32 upcast of the frozen parts of a 4-bit base.
PROJECT_TRAINING_KEYS = frozenset(
    {"checkpoint_dir", "resume_from_checkpoint", "bf16", "group_by_length"}
    | {"upcast_frozen"}
)
# SFTConfig fields the project sets from elsewhere, with where to change them.
DERIVED_SFT_FIELDS = {
    "output_dir": "model_training.training.checkpoint_dir",
    "seed": "model_training.seed",
    "data_seed": "model_training.seed",
    "eval_strategy": "validation examples (evaluated when there are some)",
    "eval_on_start": "validation examples (evaluated when there are some)",
    "use_cpu": "the detected device",
    "max_length": "model_training.tokenization.max_length",
    "train_sampling_strategy": "model_training.training.group_by_length",
}


@functools.cache
def sft_field_names() -> frozenset[str]:
    """Fields of ``trl.SFTConfig`` (imports trl: slow, so only when needed)."""
    from trl import SFTConfig  # noqa: PLC0415 - heavy import

    return frozenset(f.name for f in dataclasses.fields(SFTConfig) if f.init)


@dataclass(frozen=True)
class TrainingSettings(ParameterSettings):
    """The trainer recipe: ``trl.SFTConfig`` fields plus the project's own keys.

    Every key not declared below that is a ``SFTConfig`` field (for example
    ``use_liger_kernel`` or ``torch_compile``) is handed to it as written
    (:attr:`sft_args`); any other key is refused with its name.

    Attributes:
        max_steps: Optimizer steps; -1 trains ``num_train_epochs`` epochs.
        num_train_epochs: Epochs when ``max_steps`` is -1.
        per_device_train_batch_size: Training examples per device and micro-step.
        gradient_accumulation_steps: Micro-steps per optimizer step.
        per_device_eval_batch_size: Validation examples per device and batch.
        learning_rate: Peak learning rate.
        lr_scheduler_type: Learning-rate schedule (transformers' names).
        warmup_steps: Warm-up: a fraction of the steps when < 1, else steps.
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping norm.
        optim: Optimizer (transformers' names, e.g. ``adamw_torch_fused``).
        logging_steps: Steps between logged training losses.
        eval_steps: Steps (or a fraction of them) between validation losses.
        save_steps: Steps between checkpoints.
        save_total_limit: Checkpoints kept (older ones rotate out; null keeps all).
        gradient_checkpointing: Recompute activations in backward (less memory).
        padding_free: One padding-free row per batch (needs varlen attention).
        dataloader_num_workers: Worker processes feeding the batches.
        checkpoint_dir: Where checkpoints go (SFTConfig's ``output_dir``).
        resume_from_checkpoint: false (fresh run, stale checkpoints removed), true
            (latest complete checkpoint in ``checkpoint_dir``) or a folder.
        bf16: Mixed precision: ``auto`` (on CUDA GPUs that support it), or a bool.
        group_by_length: Batch examples of similar length (little padding).
        upcast_frozen: peft's float32 upcast of the frozen norms, embeddings and
            head of a 4-bit base (``prepare_model_for_kbit_training``).
        sft_args: The further ``SFTConfig`` fields of the group, as written.
    """

    GROUP = "model_training.training"

    max_steps: int = 32
    num_train_epochs: float = 1.0
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    per_device_eval_batch_size: int = 8
    learning_rate: float = 1.0e-3
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    logging_steps: int = 1
    eval_steps: int | float = 8
    save_steps: int = 8
    save_total_limit: int | None = 2
    gradient_checkpointing: bool = False
    padding_free: bool = False
    dataloader_num_workers: int = 0
    checkpoint_dir: str = "data/06_models/checkpoints"
    resume_from_checkpoint: bool | str = False
    bf16: bool | str = "auto"
    group_by_length: bool = True
    upcast_frozen: bool = True
    # Not a key of the group: what from_params collects from the further keys.
    sft_args: dict[str, Any] = field(
        default_factory=dict, metadata={"collects_further_keys": True}
    )

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Self:
        """Build the recipe; keys not declared here are kept as ``sft_args``.

        Raises:
            ValueError: For a value of the wrong type, or a further key that is no
                ``SFTConfig`` field or one the project sets itself, naming it.
        """
        if not isinstance(params, Mapping):
            return super().from_params(params)  # None: defaults; else the error
        declared = {f.name for f in dataclasses.fields(cls)} - {"sft_args"}
        further = {k: v for k, v in params.items() if k not in declared}
        settings = super().from_params(
            {k: v for k, v in params.items() if k in declared}
        )
        return dataclasses.replace(settings, sft_args=further)

    def validate(self) -> None:
        """Check counts, rates and the further ``SFTConfig`` keys.

        Raises:
            ValueError: Naming the offending ``model_training.training.*``.
        """
        self.check(
            "max_steps",
            self.max_steps == -1 or self.max_steps >= 1,
            "must be -1 (train num_train_epochs) or >= 1",
        )
        self.check("num_train_epochs", self.num_train_epochs > 0, "must be > 0")
        for name in (
            "per_device_train_batch_size",
            "gradient_accumulation_steps",
            "per_device_eval_batch_size",
            "logging_steps",
            "save_steps",
        ):
            self.check(name, getattr(self, name) >= 1, "must be >= 1")
        self.check("eval_steps", self.eval_steps > 0, "must be > 0")
        self.check("learning_rate", self.learning_rate > 0, "must be > 0")
        self.check("warmup_steps", self.warmup_steps >= 0, "must be >= 0")
        self.check("bf16", self.bf16 in (True, False, "auto"), "must be auto or bool")
        self._check_sft_args()

    def _check_sft_args(self) -> None:
        """Refuse further keys that are no ``SFTConfig`` field or set elsewhere."""
        if not self.sft_args:
            return
        derived = sorted(set(self.sft_args) & set(DERIVED_SFT_FIELDS))
        if derived:
            raise ValueError(
                f"Parameter {self.GROUP}.{derived[0]} is set by the project from "
                f"{DERIVED_SFT_FIELDS[derived[0]]}; remove it."
            )
        unknown = sorted(set(self.sft_args) - sft_field_names())
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {[f'{self.GROUP}.{k}' for k in unknown]}: "
                "neither a key of the project's recipe nor a trl.SFTConfig field "
                "(check the spelling against the SFTConfig documentation)."
            )

"""The ``model_training`` parameter group, typed: one frozen object per sub-group.

The defaults below are the only ones in the code; ``conf/base/parameters_model_
training.yml`` states the same values with the reasons for them
(tests/test_parameter_settings.py keeps the two equal). The ``training`` sub-group
is the trainer recipe: its keys are ``trl.SFTConfig`` fields handed over as written
(:mod:`expert_kedro.modeling.sft_config` builds the config), apart from the few
keys the project interprets itself (:data:`PROJECT_TRAINING_KEYS`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from expert_kedro.settings_base import ParameterSettings

PROMPT_STYLES = ("auto", "chat_template", "fallback")
COMPUTE_DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANT_TYPES = ("nf4", "fp4")
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
class TokenizationSettings(ParameterSettings):
    """How pairs become token sequences.

    Attributes:
        max_length: Longer sequences are cut on the right (counted in the logs).
        completion_only_loss: Loss on the assistant turn only (else everywhere).
        prompt_style: ``auto`` (the tokenizer's chat template if it has one),
            ``chat_template`` or ``fallback`` (the documented plain template).
    """

    GROUP = "model_training.tokenization"

    max_length: int = 640
    completion_only_loss: bool = True
    prompt_style: str = "auto"

    def validate(self) -> None:
        """Check the length and the prompt style.

        Raises:
            ValueError: Naming the offending ``model_training.tokenization.*``.
        """
        self.check("max_length", self.max_length >= 1, "must be >= 1")
        self.check(
            "prompt_style",
            self.prompt_style in PROMPT_STYLES,
            f"must be one of {PROMPT_STYLES}",
        )


@dataclass(frozen=True)
class QuantizationSettings(ParameterSettings):
    """How the base model's weights are loaded (bitsandbytes).

    Attributes:
        load_in_4bit: 4-bit weights (QLoRA); false loads them in the compute dtype.
        quant_type: ``nf4`` or ``fp4``.
        double_quant: Also quantize the quantization constants.
        compute_dtype: ``auto`` (bfloat16 where supported, else float16 on GPU and
            float32 on CPU), ``bfloat16``, ``float16`` or ``float32``.
        quant_storage: Dtype the 4-bit weights are stored as: null (bitsandbytes'
            uint8 packing) or ``bfloat16`` for FSDP-QLoRA.
    """

    GROUP = "model_training.quantization"

    load_in_4bit: bool = True
    quant_type: str = "nf4"
    double_quant: bool = True
    compute_dtype: str = "auto"
    quant_storage: str | None = None

    def validate(self) -> None:
        """Check the quantization type and the compute dtype.

        Raises:
            ValueError: Naming the offending ``model_training.quantization.*``.
        """
        self.check(
            "quant_type",
            self.quant_type in QUANT_TYPES,
            f"must be one of {QUANT_TYPES}",
        )
        self.check(
            "compute_dtype",
            self.compute_dtype in COMPUTE_DTYPES,
            f"must be one of {COMPUTE_DTYPES}",
        )


@dataclass(frozen=True)
class LoraSettings(ParameterSettings):
    """The LoRA adapter (peft ``LoraConfig``).

    Attributes:
        r: Rank of the update matrices.
        alpha: Scale numerator (the update is scaled by ``alpha / r``).
        dropout: Dropout on the adapter's input.
        target_modules: ``all-linear`` (every linear layer of the blocks, not the
            LM head) or a list of module names.
        bias: Biases trained: ``none``, ``all`` or ``lora_only``.
    """

    GROUP = "model_training.lora"

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: str | tuple[str, ...] = "all-linear"
    bias: str = "none"

    def validate(self) -> None:
        """Check rank, scale, dropout and bias.

        Raises:
            ValueError: Naming the offending ``model_training.lora.*``.
        """
        self.check("r", self.r >= 1, "must be >= 1")
        self.check("alpha", self.alpha >= 1, "must be >= 1")
        self.check("dropout", 0.0 <= self.dropout < 1.0, "must be in [0, 1)")
        self.check(
            "bias",
            self.bias in ("none", "all", "lora_only"),
            "must be 'none', 'all' or 'lora_only'",
        )


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


@dataclass(frozen=True)
class ModelTrainingSettings(ParameterSettings):
    """How the LoRA adapter is trained.

    Attributes:
        seed: Seed of the samples, the LoRA init, the data order and dropout.
        include_augmented: Keep the partial-agenda pairs (``source == "partial"``).
        max_train_examples: Seeded sample of training pairs (null: all).
        max_validation_examples: Validation pairs whose loss is tracked (null: all).
        attn_implementation: Attention kernel of the base model (``sdpa``,
            ``eager``, ``varlen``, ``flash_attention_2``).
        tokenization: Token sequences of the pairs.
        quantization: Loading of the base model.
        lora: The adapter.
        training: The trainer recipe.
    """

    GROUP = "model_training"

    seed: int = 42
    include_augmented: bool = True
    max_train_examples: int | None = 128
    max_validation_examples: int | None = 16
    attn_implementation: str = "sdpa"
    tokenization: TokenizationSettings = field(default_factory=TokenizationSettings)
    quantization: QuantizationSettings = field(default_factory=QuantizationSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def validate(self) -> None:
        """Check the sample sizes.

        Raises:
            ValueError: Naming the offending ``model_training.*`` parameter.
        """
        for name in ("max_train_examples", "max_validation_examples"):
            value = getattr(self, name)
            self.check(name, value is None or value >= 1, "must be null or >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready parameters (recorded in the training history)."""
        return dataclasses.asdict(self)

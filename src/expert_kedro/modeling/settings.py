"""The ``model_training`` parameter group, typed: one frozen object per sub-group.

The defaults below are the only ones in the code; ``conf/base/parameters_model_
training.yml`` states the same values with the reasons for them
(tests/test_parameter_settings.py keeps the two equal). The ``training`` sub-group
is the trainer recipe (:mod:`expert_kedro.modeling.trainer_recipe`), whose keys are
``trl.SFTConfig`` fields; ``selection`` chooses the checkpoint saved
(:mod:`expert_kedro.modeling.selection`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from expert_kedro.modeling.selection import SelectionSettings
from expert_kedro.modeling.trainer_recipe import TrainingSettings
from expert_kedro.settings_base import ParameterSettings

PROMPT_STYLES = ("auto", "chat_template", "fallback")
COMPUTE_DTYPES = ("auto", "bfloat16", "float16", "float32")
QUANT_TYPES = ("nf4", "fp4")
LORA_BIASES = ("none", "all", "lora_only")


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
        self.check_choice("prompt_style", PROMPT_STYLES)


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
        self.check_choice("quant_type", QUANT_TYPES)
        self.check_choice("compute_dtype", COMPUTE_DTYPES)


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
        self.check_choice("bias", LORA_BIASES)


@dataclass(frozen=True)
class RankingLossSettings(ParameterSettings):
    """The listwise term added to the yes/no SFT loss during training.

    A training query (one agenda of one project) has one or a few "yes" examples
    (its experts) and several "no" examples (the retriever's other candidates).
    The pointwise SFT loss can be lowered by answering "no" at the base rate
    without telling candidates apart; the listwise term scores each query's
    candidates as inference ranks them (``logit(yes) - logit(no)`` on the first
    answer token) and asks the positives to win a softmax over them
    (:mod:`expert_kedro.modeling.ranking_loss`).

    Attributes:
        weight: 0: the plain SFT loss (pointwise). > 0: the SFT loss plus this
            times the softmax cross-entropy over each query's candidates; batches
            then hold whole queries.
        temperature: Scores are divided by it inside the softmax.
    """

    GROUP = "model_training.ranking_loss"

    weight: float = 0.0
    temperature: float = 1.0

    @property
    def enabled(self) -> bool:
        """Whether the listwise term is trained (``weight > 0``)."""
        return self.weight > 0

    def validate(self) -> None:
        """Check the weight and the temperature.

        Raises:
            ValueError: Naming the offending ``model_training.ranking_loss.*``.
        """
        self.check("weight", self.weight >= 0, "must be >= 0")
        self.check("temperature", self.temperature > 0, "must be > 0")


@dataclass(frozen=True)
class ModelTrainingSettings(ParameterSettings):
    """How the LoRA adapter is trained.

    Attributes:
        seed: Seed of the samples, the LoRA init, the data order and dropout.
        include_augmented: Keep the partial-agenda pairs (``source == "partial"``).
        max_train_examples: Seeded sample of training pairs (null: all).
        max_validation_examples: Validation pairs whose loss is tracked (null: all).
        ranking_loss: The listwise term over each query's candidates (off by
            default); when on, ``max_train_examples`` samples whole queries.
        selection: Which checkpoint's adapter is saved, and the ranking of
            validation agendas at each evaluation.
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
    ranking_loss: RankingLossSettings = field(default_factory=RankingLossSettings)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    attn_implementation: str = "sdpa"
    tokenization: TokenizationSettings = field(default_factory=TokenizationSettings)
    quantization: QuantizationSettings = field(default_factory=QuantizationSettings)
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def validate(self) -> None:
        """Check the sample sizes, and that the ranking loss can find the answers.

        Raises:
            ValueError: Naming the offending ``model_training.*`` parameter.
        """
        for name in ("max_train_examples", "max_validation_examples"):
            value = getattr(self, name)
            self.check(name, value is None or value >= 1, "must be null or >= 1")
        if self.ranking_loss.enabled and not self.tokenization.completion_only_loss:
            # The answer token is found as an example's first trained label.
            raise ValueError(
                "Parameter model_training.ranking_loss.weight > 0 needs "
                "model_training.tokenization.completion_only_loss: true."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready parameters (recorded in the training history)."""
        return dataclasses.asdict(self)

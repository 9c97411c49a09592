"""QLoRA training with trl's ``SFTTrainer`` on pre-tokenized examples.

:func:`train_lora` is the single entry point, used by the Kedro node and callable
from plain scripts/benchmarks with any causal LM (4-bit or not, real or random
weights) and any tokenized dataset that has ``input_ids`` and ``labels``.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset
from transformers import TrainerCallback, set_seed

from expert_kedro.modeling.checkpoints import (
    clear_stale_checkpoints,
    remove_incomplete_checkpoints,
    resolve_resume,
)
from expert_kedro.modeling.distributed import (
    distributed_env,
    gather_fsdp_adapter,
    wait_for_everyone,
)
from expert_kedro.modeling.hardware import HardwareInfo, detect_hardware

logger = logging.getLogger(__name__)

MODEL_COLUMNS = ["input_ids", "labels"]


@dataclass
class TrainingResult:
    """Outcome of :func:`train_lora`.

    Attributes:
        model: The trained ``PeftModel`` (base model + LoRA adapter).
        history: JSON-serialisable record: per-step loss, eval losses, throughput,
            peak memory, wall time, device (see :func:`train_lora`).
    """

    model: Any
    history: dict[str, Any]


def build_lora_config(lora: dict[str, Any]) -> Any:
    """Build a peft ``LoraConfig`` from the ``lora`` parameters.

    Args:
        lora: ``r``, ``alpha``, ``dropout``, ``target_modules`` (``all-linear`` =
            every linear layer but the output head, or a list of module names),
            optional ``bias``.

    Returns:
        A ``peft.LoraConfig`` for causal language modeling.
    """
    from peft import LoraConfig  # noqa: PLC0415

    return LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.05)),
        target_modules=lora.get("target_modules", "all-linear"),
        bias=lora.get("bias", "none"),
        task_type="CAUSAL_LM",
    )


def _peak_memory_gib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    # ru_maxrss is in KiB on Linux: peak resident memory of this process.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _HistoryCallback(TrainerCallback):
    """Times optimizer steps (excluding eval/checkpointing) and logs every loss."""

    def __init__(self) -> None:
        self.step_seconds = 0.0
        self.tokens_start = 0
        self.tokens_end = 0
        self._step_start = 0.0

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: D102
        self.tokens_start = self.tokens_end = state.num_input_tokens_seen

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: D102
        self._step_start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: D102
        self.step_seconds += time.perf_counter() - self._step_start
        self.tokens_end = state.num_input_tokens_seen

    def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: D102
        logs = logs or {}
        if "loss" in logs:
            logger.info(
                "step %d/%d loss %.4f lr %.2e",
                state.global_step,
                state.max_steps,
                logs["loss"],
                logs.get("learning_rate", float("nan")),
            )
        if "eval_loss" in logs:
            logger.info("step %d eval_loss %.4f", state.global_step, logs["eval_loss"])


def _use_bf16(training: dict[str, Any], hardware: HardwareInfo) -> bool:
    requested = training.get("bf16", "auto")
    if requested == "auto":
        # Mixed-precision autocast pays off on GPUs. On CPU the 4-bit layers already
        # compute in bf16, and autocast only added casts (measured ~2x slower).
        return hardware.device == "cuda" and hardware.bf16_supported
    return bool(requested) and hardware.bf16_supported


def _sft_config(
    training: dict[str, Any],
    hardware: HardwareInfo,
    seed: int,
    has_eval: bool,
    resuming: bool,
) -> Any:
    from trl import SFTConfig  # noqa: PLC0415

    eval_steps = training.get("eval_steps", 50)
    return SFTConfig(
        output_dir=training.get("checkpoint_dir", "data/06_models/checkpoints"),
        max_steps=int(training.get("max_steps", -1) or -1),
        num_train_epochs=float(training.get("num_train_epochs", 1)),
        per_device_train_batch_size=int(training.get("per_device_train_batch_size", 4)),
        per_device_eval_batch_size=int(training.get("per_device_eval_batch_size", 8)),
        gradient_accumulation_steps=int(training.get("gradient_accumulation_steps", 1)),
        learning_rate=float(training.get("learning_rate", 2e-4)),
        lr_scheduler_type=training.get("lr_scheduler_type", "cosine"),
        warmup_steps=float(training.get("warmup_steps", 0)),
        weight_decay=float(training.get("weight_decay", 0.0)),
        max_grad_norm=float(training.get("max_grad_norm", 1.0)),
        optim=training.get("optim", "adamw_torch"),
        logging_steps=int(training.get("logging_steps", 1)),
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_steps,
        # The step-0 loss of a resumed run is already in the checkpoint's log; a
        # second one at the resumed step would break the uninterrupted history.
        eval_on_start=has_eval and not resuming,
        prediction_loss_only=True,
        save_strategy="steps",
        save_steps=int(training.get("save_steps", 50)),
        save_total_limit=training.get("save_total_limit", 2),
        seed=seed,
        data_seed=seed,
        bf16=_use_bf16(training, hardware),
        gradient_checkpointing=bool(training.get("gradient_checkpointing", False)),
        gradient_checkpointing_kwargs={"use_reentrant": False},
        train_sampling_strategy=(
            "group_by_length" if training.get("group_by_length", True) else "random"
        ),
        padding_free=bool(training.get("padding_free", False)),
        include_num_input_tokens_seen="non_padding",
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,  # examples are truncated at tokenization time
        dataloader_num_workers=int(training.get("dataloader_num_workers", 0)),
        report_to="none",
        disable_tqdm=False,
        use_cpu=hardware.device == "cpu",
        **training.get("extra_args", {}),
    )


def _prepare_peft_model(
    model: Any, lora: dict[str, Any], training: dict[str, Any]
) -> Any:
    from peft import get_peft_model, prepare_model_for_kbit_training  # noqa: PLC0415

    quantized = getattr(model, "is_loaded_in_4bit", False) or getattr(
        model, "is_loaded_in_8bit", False
    )
    if quantized and training.get("upcast_frozen", True):
        # peft's recipe: frozen norms, embeddings and head in float32 (stabler on
        # fp16 hardware; costs fp32 logits and activations).
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=bool(
                training.get("gradient_checkpointing", False)
            ),
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif quantized:
        # Frozen parts stay in the load dtype (bf16 on GPU): no fp32 logits or
        # norm outputs. The Trainer turns gradient checkpointing on itself.
        for param in model.parameters():
            param.requires_grad_(False)
    model = get_peft_model(model, build_lora_config(lora))
    trainable, total = model.get_nb_trainable_parameters()
    logger.info(
        "LoRA: %.2f M trainable of %.1f M parameters (%.3f%%)",
        trainable / 1e6,
        total / 1e6,
        100 * trainable / total,
    )
    return model


def _summarise(
    log_history: list[dict[str, Any]],
    callback: _HistoryCallback,
    wall: float,
    hardware: HardwareInfo,
) -> dict[str, Any]:
    steps = [
        {
            "step": entry["step"],
            "epoch": entry.get("epoch"),
            "loss": entry["loss"],
            "learning_rate": entry.get("learning_rate"),
            "grad_norm": entry.get("grad_norm"),
        }
        for entry in log_history
        if "loss" in entry
    ]
    # eval_rank_*: the ranking validation (modeling.ranking_validation).
    evals = [
        {"step": entry["step"], "eval_loss": entry["eval_loss"]}
        | {k: v for k, v in entry.items() if k.startswith("eval_rank_")}
        for entry in log_history
        if "eval_loss" in entry
    ]
    tokens = callback.tokens_end - callback.tokens_start
    return {
        "device": hardware.as_dict(),
        "steps": steps,
        "eval": evals,
        "eval_loss_start": evals[0]["eval_loss"] if evals else None,
        "eval_loss_end": evals[-1]["eval_loss"] if evals else None,
        "eval_loss_min": min(e["eval_loss"] for e in evals) if evals else None,
        "train_tokens": int(tokens),
        "train_step_seconds": round(callback.step_seconds, 2),
        "tokens_per_second": (
            round(tokens / callback.step_seconds, 1) if callback.step_seconds else None
        ),
        "peak_memory_gib": round(_peak_memory_gib(hardware.device), 3),
        "wall_time_s": round(wall, 2),
    }


def train_lora(
    model: Any,
    tokenizer: Any,
    train_dataset: Dataset,
    eval_dataset: Dataset | None = None,
    *,
    lora: dict[str, Any],
    training: dict[str, Any],
    seed: int = 42,
    hardware: HardwareInfo | None = None,
    callbacks: list[Any] | None = None,
) -> TrainingResult:
    """Fit a LoRA adapter on a (4-bit) causal LM with trl's ``SFTTrainer``.

    The validation loss is measured before the first step, every ``eval_steps`` and
    at the end, so its fall from the starting value is visible in the history.
    Checkpoints go to ``training["checkpoint_dir"]`` every ``save_steps``; with
    ``resume_from_checkpoint`` set, training continues the interrupted run from
    there: same adapter dtype, optimizer, scheduler and RNG state, same data order
    (see :mod:`expert_kedro.modeling.sft_trainer`), no second step-0 evaluation, so
    it ends where the uninterrupted run would have. Without it, stale checkpoints of
    an earlier run are removed first.

    Args:
        model: A causal LM, e.g. from ``load_base_model`` (4-bit) or built from a
            ``LlamaConfig`` for benchmarks.
        tokenizer: Its tokenizer (pad token used by the collator).
        train_dataset: Rows with ``input_ids`` and ``labels`` (prompt masked with
            -100); other columns are ignored.
        eval_dataset: Same layout, or None to skip evaluation.
        lora: ``r``, ``alpha``, ``dropout``, ``target_modules`` (see
            :func:`build_lora_config`).
        training: Trainer recipe: ``max_steps``, ``num_train_epochs``,
            ``per_device_train_batch_size``, ``per_device_eval_batch_size``,
            ``gradient_accumulation_steps``, ``learning_rate``,
            ``lr_scheduler_type``, ``warmup_steps``, ``weight_decay``, ``optim``,
            ``logging_steps``, ``eval_steps``, ``save_steps``, ``save_total_limit``,
            ``checkpoint_dir``, ``resume_from_checkpoint``,
            ``gradient_checkpointing``, ``group_by_length``, ``padding_free``,
            ``bf16`` (``auto``/bool), ``upcast_frozen`` (peft's float32 upcast of
            the frozen non-quantized parts of a 4-bit base; default true),
            ``extra_args`` (more ``SFTConfig`` fields).
        seed: Seed for LoRA init, data order and dropout.
        hardware: ``detect_hardware()`` result; detected when omitted.
        callbacks: Extra ``transformers.TrainerCallback`` objects (benchmarks,
            tests).

    Returns:
        :class:`TrainingResult` whose ``history`` holds ``steps`` (step, epoch,
        loss, learning_rate, grad_norm), ``eval`` (step, eval_loss),
        ``eval_loss_start``/``eval_loss_end``/``eval_loss_min``, ``train_tokens``
        (non-padding tokens trained on in this session), ``tokens_per_second``
        (over optimizer-step time, excluding eval and checkpointing),
        ``peak_memory_gib``,
        ``wall_time_s``, ``device``, ``global_step``, ``resumed_from``, parameter
        counts.
    """
    from expert_kedro.modeling.sft_trainer import (  # noqa: PLC0415 - imports trl
        ResumableSFTTrainer,
    )

    started = time.perf_counter()
    hardware = hardware or detect_hardware()
    set_seed(seed)
    checkpoint_dir = training.get("checkpoint_dir", "data/06_models/checkpoints")
    resume = resolve_resume(training.get("resume_from_checkpoint"), checkpoint_dir)
    launch = distributed_env()
    if launch.is_main:
        # Rank 0 alone deletes; the others wait so none of them races the
        # deletion (the Trainer also saves checkpoints on rank 0 only).
        if resume is None:
            clear_stale_checkpoints(checkpoint_dir)
        else:
            remove_incomplete_checkpoints(checkpoint_dir)
    if resume is not None:
        logger.info("Resuming from %s", resume)
    wait_for_everyone()
    peft_model = _prepare_peft_model(model, lora, training)
    if hardware.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    callback = _HistoryCallback()
    trainer = ResumableSFTTrainer(
        model=peft_model,
        args=_sft_config(
            training, hardware, seed, eval_dataset is not None, resume is not None
        ),
        train_dataset=train_dataset.select_columns(MODEL_COLUMNS),
        eval_dataset=(
            eval_dataset.select_columns(MODEL_COLUMNS) if eval_dataset else None
        ),
        processing_class=tokenizer,
        callbacks=[callback, *(callbacks or [])],
    )
    trainer.train(resume_from_checkpoint=resume)
    state = trainer.state
    evaluated_last_step = any(
        "eval_loss" in entry and entry.get("step") == state.global_step
        for entry in state.log_history
    )
    if eval_dataset is not None and not evaluated_last_step:
        trainer.evaluate()  # final validation loss at the last step
    history = _summarise(
        trainer.state.log_history, callback, time.perf_counter() - started, hardware
    )
    trainable, total = peft_model.get_nb_trainable_parameters()
    history.update(
        {
            "global_step": int(state.global_step),
            "resumed_from": resume,
            "train_examples": len(train_dataset),
            "eval_examples": len(eval_dataset) if eval_dataset is not None else 0,
            "trainable_parameters": int(trainable),
            "total_parameters": int(total),
            "seed": seed,
            # Under DDP/FSDP each of world_size processes trains on its own
            # per_device_train_batch_size examples per micro-step.
            "world_size": launch.world_size,
            "fsdp": launch.fsdp,
        }
    )
    logger.info(
        "Training done: %d steps, eval loss %s -> %s, %s tokens/s, peak %.2f GiB, "
        "%.0f s",
        history["global_step"],
        history["eval_loss_start"],
        history["eval_loss_end"],
        history["tokens_per_second"],
        history["peak_memory_gib"],
        history["wall_time_s"],
    )
    if launch.fsdp:
        return TrainingResult(
            model=gather_fsdp_adapter(trainer, peft_model), history=history
        )
    return TrainingResult(model=peft_model, history=history)

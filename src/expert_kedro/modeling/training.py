"""QLoRA training with trl's ``SFTTrainer`` on pre-tokenized examples.

:func:`train_lora` is the single entry point, used by the Kedro node and callable
from plain scripts/benchmarks with any causal LM (4-bit or not, real or random
weights) and any tokenized dataset that has ``input_ids`` and ``labels``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from datasets import Dataset
from transformers import set_seed

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
from expert_kedro.modeling.lora import prepare_peft_model
from expert_kedro.modeling.settings import LoraSettings, RankingLossSettings
from expert_kedro.modeling.sft_config import build_sft_config
from expert_kedro.modeling.trainer_recipe import TrainingSettings
from expert_kedro.modeling.training_history import HistoryCallback, summarise_history
from expert_kedro.training_data.queries import QUERY_COLUMN

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


def _prepare_checkpoints(training: TrainingSettings) -> str | None:
    """The checkpoint to resume from (None: fresh run), its folder made ready.

    Rank 0 alone deletes stale or incomplete checkpoints; the others wait so none
    of them races the deletion (the Trainer also saves checkpoints on rank 0 only).
    """
    folder = training.checkpoint_dir
    resume = resolve_resume(training.resume_from_checkpoint, folder)
    if distributed_env().is_main:
        if resume is None:
            clear_stale_checkpoints(folder)
        else:
            remove_incomplete_checkpoints(folder)
    if resume is not None:
        logger.info("Resuming from %s", resume)
    wait_for_everyone()
    return resume


def _build_trainer(  # noqa: PLR0913 - the trainer's parts
    peft_model: Any,
    args: Any,
    tokenizer: Any,
    datasets: tuple[Dataset, Dataset | None],
    callbacks: list[Any],
    *,
    ranking: RankingLossSettings,
) -> Any:
    """The trainer over the model columns of the (train, validation) examples.

    With the ranking loss on, the training examples keep their query key and the
    listwise trainer batches and scores them by query; validation stays on the
    model columns (its loss is the plain SFT loss).
    """
    from expert_kedro.modeling.sft_trainer import (  # noqa: PLC0415 - imports trl
        ResumableSFTTrainer,
    )

    train, validation = datasets
    trainer_class: Any = ResumableSFTTrainer
    train_columns = MODEL_COLUMNS
    if ranking.enabled:
        from expert_kedro.modeling.listwise_trainer import (  # noqa: PLC0415
            ListwiseSFTTrainer,
        )

        if QUERY_COLUMN not in train.column_names:
            raise ValueError(
                "model_training.ranking_loss.weight > 0 needs the training "
                f"examples' '{QUERY_COLUMN}' column (written by tokenize_pairs)."
            )
        trainer_class = partial(ListwiseSFTTrainer, ranking=ranking)
        train_columns = [*MODEL_COLUMNS, QUERY_COLUMN]
    return trainer_class(
        model=peft_model,
        args=args,
        train_dataset=train.select_columns(train_columns),
        eval_dataset=(
            validation.select_columns(MODEL_COLUMNS) if validation is not None else None
        ),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def _run_trainer(trainer: Any, resume: str | None, has_eval: bool) -> None:
    """Train, then measure the validation loss at the last step if not done yet."""
    trainer.train(resume_from_checkpoint=resume)
    state = trainer.state
    evaluated_last_step = any(
        "eval_loss" in entry and entry.get("step") == state.global_step
        for entry in state.log_history
    )
    if has_eval and not evaluated_last_step:
        trainer.evaluate()


def _log_done(history: dict[str, Any]) -> None:
    ranked = (
        f", rank loss {history['rank_loss_start']} -> {history['rank_loss_end']}"
        if "rank_loss_end" in history
        else ""
    )
    logger.info(
        "Training done: %d steps, eval loss %s -> %s%s, %s tokens/s, peak %.2f GiB, "
        "%.0f s",
        history["global_step"],
        history["eval_loss_start"],
        history["eval_loss_end"],
        ranked,
        history["tokens_per_second"],
        history["peak_memory_gib"],
        history["wall_time_s"],
    )


def train_lora(  # noqa: PLR0913 - the trainer's inputs, all keyword after the data
    model: Any,
    tokenizer: Any,
    train_dataset: Dataset,
    eval_dataset: Dataset | None = None,
    *,
    lora: LoraSettings | Mapping[str, Any],
    training: TrainingSettings | Mapping[str, Any],
    seed: int = 42,
    hardware: HardwareInfo | None = None,
    callbacks: list[Any] | None = None,
    ranking_loss: RankingLossSettings | Mapping[str, Any] | None = None,
) -> TrainingResult:
    """Fit a LoRA adapter on a (4-bit) causal LM with trl's ``SFTTrainer``.

    The validation loss is measured before the first step, every ``eval_steps`` and
    at the end, so its fall from the starting value is visible in the history.
    Checkpoints go to ``training.checkpoint_dir`` every ``save_steps``; with
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
        lora: The adapter (``model_training.lora``); a mapping is read with
            :class:`LoraSettings` (missing keys get its defaults).
        training: The trainer recipe (``model_training.training``); a mapping is
            read with :class:`TrainingSettings`.
        seed: Seed for LoRA init, data order and dropout.
        hardware: ``detect_hardware()`` result; detected when omitted.
        callbacks: Extra ``transformers.TrainerCallback`` objects (the ranking
            validation and checkpoint selection, benchmarks, tests).
        ranking_loss: The listwise term (``model_training.ranking_loss``); None
            or weight 0: the plain SFT loss. With weight > 0 the training rows
            need the ``query`` column of
            :func:`~expert_kedro.modeling.tokenization.tokenize_pairs` and rerank
            (yes/no) answers (see :mod:`expert_kedro.modeling.listwise_trainer`).

    Returns:
        :class:`TrainingResult` whose ``history`` holds ``steps`` (step, epoch,
        loss, learning_rate, grad_norm, and ``rank_loss``, the listwise term, when
        it is trained), ``eval`` (step, eval_loss and any
        ``eval_rank_*`` metric of the ranking validation),
        ``eval_loss_start``/``eval_loss_end``/``eval_loss_min``
        (``rank_loss_start``/``rank_loss_end`` with the listwise term), ``train_tokens``
        (non-padding tokens trained on in this session), ``tokens_per_second``
        (over optimizer-step time, excluding eval and checkpointing),
        ``peak_memory_gib``, ``wall_time_s``, ``device``, ``global_step``,
        ``resumed_from``, parameter counts.
    """
    started = time.perf_counter()
    lora = LoraSettings.coerce(lora)
    training = TrainingSettings.coerce(training)
    ranking = RankingLossSettings.coerce(ranking_loss)
    hardware = hardware or detect_hardware()
    set_seed(seed)
    resume = _prepare_checkpoints(training)
    has_eval = eval_dataset is not None
    peft_model = prepare_peft_model(model, lora, training)
    args = build_sft_config(
        training, hardware, seed=seed, has_eval=has_eval, resuming=resume is not None
    )
    if hardware.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    callback = HistoryCallback()
    trainer = _build_trainer(
        peft_model,
        args,
        tokenizer,
        (train_dataset, eval_dataset),
        [callback, *(callbacks or [])],
        ranking=ranking,
    )
    _run_trainer(trainer, resume, has_eval)
    history = summarise_history(
        trainer.state.log_history, callback, time.perf_counter() - started, hardware
    )
    trainable, total = peft_model.get_nb_trainable_parameters()
    launch = distributed_env()
    history.update(
        global_step=int(trainer.state.global_step),
        resumed_from=resume,
        train_examples=len(train_dataset),
        eval_examples=len(eval_dataset) if has_eval else 0,
        trainable_parameters=int(trainable),
        total_parameters=int(total),
        seed=seed,
        # Under DDP/FSDP each of world_size processes trains on its own
        # per_device_train_batch_size examples per micro-step.
        world_size=launch.world_size,
        fsdp=launch.fsdp,
    )
    _log_done(history)
    if launch.fsdp:
        peft_model = gather_fsdp_adapter(trainer, peft_model)
    return TrainingResult(model=peft_model, history=history)

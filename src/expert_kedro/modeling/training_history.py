"""What a training run records: losses per step, validation losses, throughput."""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

import torch
from transformers import TrainerCallback

from expert_kedro.modeling.hardware import HardwareInfo

logger = logging.getLogger(__name__)


def peak_memory_gib(device: str) -> float:
    """Peak memory of this process: allocated on the GPU, else resident on CPU."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    # ru_maxrss is in KiB on Linux: peak resident memory of this process.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class HistoryCallback(TrainerCallback):
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
                "step %d/%d loss %.4f lr %.2e%s",
                state.global_step,
                state.max_steps,
                logs["loss"],
                logs.get("learning_rate", float("nan")),
                f" rank_loss {logs['rank_loss']:.4f}" if "rank_loss" in logs else "",
            )
        if "eval_loss" in logs:
            logger.info("step %d eval_loss %.4f", state.global_step, logs["eval_loss"])


def summarise_history(
    log_history: list[dict[str, Any]],
    callback: HistoryCallback,
    wall: float,
    hardware: HardwareInfo,
) -> dict[str, Any]:
    """The JSON-ready record of a run from the trainer's log and the callback.

    Args:
        log_history: ``trainer.state.log_history``.
        callback: The run's :class:`HistoryCallback`.
        wall: Wall time of the run in seconds.
        hardware: Device the run trained on.

    Returns:
        ``steps``, ``eval`` (validation loss and ranking metrics per evaluation),
        the first/last/lowest validation loss, tokens trained on, tokens per second
        of step time, peak memory, wall time and device; with the listwise
        ranking loss, its first and last logged value (``rank_loss_start``,
        ``rank_loss_end``).
    """
    # rank_loss: the listwise term, logged when it is trained (ranking_loss).
    steps = [
        {
            "step": entry["step"],
            "epoch": entry.get("epoch"),
            "loss": entry["loss"],
            "learning_rate": entry.get("learning_rate"),
            "grad_norm": entry.get("grad_norm"),
        }
        | ({"rank_loss": entry["rank_loss"]} if "rank_loss" in entry else {})
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
    ranked = [step["rank_loss"] for step in steps if "rank_loss" in step]
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
        "peak_memory_gib": round(peak_memory_gib(hardware.device), 3),
        "wall_time_s": round(wall, 2),
    } | ({"rank_loss_start": ranked[0], "rank_loss_end": ranked[-1]} if ranked else {})

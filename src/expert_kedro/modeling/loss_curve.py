"""The loss curve of a training run (the ``loss_curve`` reporting dataset)."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def plot_loss_curve(training_history: dict[str, Any]) -> Figure:
    """Plot training loss per step and validation loss per evaluation.

    Args:
        training_history: Output of :func:`train_lora_adapter`.

    Returns:
        A matplotlib figure for the ``loss_curve`` dataset.
    """
    # A bare Figure (no pyplot) needs no GUI backend and leaks no global state.
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    steps = training_history.get("steps", [])
    evals = training_history.get("eval", [])
    if steps:
        axis.plot(
            [s["step"] for s in steps],
            [s["loss"] for s in steps],
            label="training loss",
            alpha=0.7,
        )
    if evals:
        axis.plot(
            [e["step"] for e in evals],
            [e["eval_loss"] for e in evals],
            "o-",
            label="validation loss",
        )
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("cross-entropy loss")
    device = training_history.get("device", {}).get("device_name", "?")
    axis.set_title(f"LoRA fine-tuning loss ({device})")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure

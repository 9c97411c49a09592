"""Our recipe: exactly what the model_training node runs, with the ``gpu`` parameters.

The parameters are read from ``conf/base`` merged with ``conf/gpu`` (the same files
``kedro run --env gpu`` uses), then handed to :func:`train_lora`, the function the
Kedro node calls. Levers are applied as overrides on top, one variant at a time.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def gpu_parameters(group: str = "model_training") -> dict[str, Any]:
    """``params:<group>`` as ``kedro run --env gpu`` sees it."""
    merged: dict[str, Any] = {}
    for env in ("base", "gpu"):
        path = ROOT / "conf" / env / f"parameters_{group}.yml"
        if path.is_file():
            merged = _merge(merged, yaml.safe_load(path.read_text()) or {})
    return merged[group]


def run_our_recipe(
    model_path: str,
    examples: list[dict[str, list[int]]],
    *,
    tokenizer: Any,
    overrides: dict[str, Any] | None = None,
    max_steps: int = -1,
    label: str = "ours",
    callbacks: list[Any] | None = None,
) -> dict[str, Any]:
    """Train one epoch (or ``max_steps``) through ``train_lora`` and measure it."""
    from datasets import Dataset

    from expert_kedro.modeling.base_model import load_base_model
    from expert_kedro.modeling.training import train_lora

    params = _merge(gpu_parameters(), overrides or {})
    training = dict(params["training"])
    training.update(
        {
            "max_steps": max_steps,
            "num_train_epochs": 1,
            "save_steps": 10**9,
            "checkpoint_dir": f"/tmp/bench-{label}",
            "resume_from_checkpoint": False,
            "logging_steps": 10,
        }
    )
    start = time.perf_counter()
    model = load_base_model(
        model_path,
        params.get("quantization"),
        attn_implementation=params.get("attn_implementation", "sdpa"),
    )
    load_s = time.perf_counter() - start
    torch.cuda.reset_peak_memory_stats()
    result = train_lora(
        model,
        tokenizer,
        Dataset.from_list(examples),
        None,
        lora=params["lora"],
        training=training,
        seed=int(params.get("seed", 42)),
        callbacks=callbacks,
    )
    torch.cuda.synchronize()
    history = result.history
    steps = history["global_step"]
    train_s = history["wall_time_s"]
    batch = training.get("per_device_train_batch_size", 1) * training.get(
        "gradient_accumulation_steps", 1
    )
    steps_per_epoch = -(-len(examples) // batch)
    out = {
        "recipe": label,
        "steps": steps,
        "real_tokens": history["train_tokens"],
        "real_tokens_per_s": history["train_tokens"] / train_s,
        "steps_per_s": steps / train_s,
        "epoch_wall_s": steps_per_epoch * train_s / steps,
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
        "train_s": train_s,
        "load_s": load_s,
        "overrides": overrides or {},
    }
    del result, model
    torch.cuda.empty_cache()
    return out

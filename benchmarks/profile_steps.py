"""Where a training step's time goes: torch.profiler over a few optimizer steps.

Used by ``train_throughput.py --profile``: a ``TrainerCallback`` starts the profiler
after warm-up steps, records ``steps`` optimizer steps and writes the operator table
(self CPU time and self GPU time) plus a summary: wall time per step against GPU
kernel time per step. A step whose GPU time is far below its wall time is bound by
the host (Python, launches, synchronisations), not by the GPU.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback


class ProfileSteps(TrainerCallback):
    """Profile optimizer steps ``warmup + 1 .. warmup + steps`` of one run."""

    def __init__(self, out: Path, label: str, warmup: int = 3, steps: int = 3) -> None:
        self.out, self.label = Path(out), label
        self.warmup, self.steps = warmup, steps
        self.prof: Any = None
        self.started = 0.0

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: D102
        if state.global_step == self.warmup and self.prof is None:
            torch.cuda.synchronize()
            self.prof = torch.profiler.profile(
                activities=[
                    torch.profiler.ProfilerActivity.CPU,
                    torch.profiler.ProfilerActivity.CUDA,
                ]
            )
            self.prof.__enter__()
            self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: D102
        if self.prof is None or state.global_step != self.warmup + self.steps:
            return
        torch.cuda.synchronize()
        wall = time.perf_counter() - self.started
        self.prof.__exit__(None, None, None)
        events = self.prof.key_averages()
        gpu_us = sum(e.self_device_time_total for e in events)
        summary = {
            "label": self.label,
            "steps": self.steps,
            "wall_s_per_step": wall / self.steps,
            "gpu_kernel_s_per_step": gpu_us / 1e6 / self.steps,
            "gpu_busy_fraction": gpu_us / 1e6 / wall,
        }
        name = self.label.replace(" ", "_").replace("/", "_")
        self.out.mkdir(parents=True, exist_ok=True)
        text = [json.dumps(summary)]
        for key in ("self_cpu_time_total", "self_device_time_total"):
            text.append(f"\n== sorted by {key} ==")
            table = events.table(sort_by=key, row_limit=30, max_name_column_width=60)
            text.append(table)
        (self.out / f"train_profile_{name}.txt").write_text("\n".join(text))
        print(json.dumps(summary), flush=True)
        self.prof = None
        control.should_training_stop = True

"""Where a training step's time goes: torch.profiler over a few optimizer steps.

Used by ``train_throughput.py --profile``: a ``TrainerCallback`` starts the profiler
after warm-up steps, records ``steps`` optimizer steps and writes the operator table
(self CPU time and self GPU time) plus a summary: wall time per step against the
operators' self CPU time per step. A step whose host time is close to its wall time
is bound by the host (Python, launches, synchronisations), not by the GPU. Runs on
CPU too (then without the GPU columns).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class ProfileSteps(TrainerCallback):
    """Profile optimizer steps ``warmup + 1 .. warmup + steps`` of one run."""

    def __init__(self, out: Path, label: str, warmup: int = 3, steps: int = 3) -> None:
        self.out, self.label = Path(out), label
        self.warmup, self.steps = warmup, steps
        self.prof: Any = None
        self.started = 0.0

    def on_step_begin(self, args, state, control, **kwargs):  # noqa: D102
        if state.global_step == self.warmup and self.prof is None:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                torch.cuda.synchronize()
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self.prof = torch.profiler.profile(activities=activities)
            self.prof.__enter__()
            self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):  # noqa: D102
        if self.prof is None or state.global_step != self.warmup + self.steps:
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        wall = time.perf_counter() - self.started
        self.prof.__exit__(None, None, None)
        events = self.prof.key_averages()
        cpu_us = sum(e.self_cpu_time_total for e in events)
        summary = {
            "label": self.label,
            "steps": self.steps,
            "wall_s_per_step": wall / self.steps,
            # Host time in operators and launches: near the wall time, the step
            # waits on Python and the CPU, not on the GPU.
            "self_cpu_s_per_step": cpu_us / 1e6 / self.steps,
        }
        name = self.label.replace(" ", "_").replace("/", "_")
        self.out.mkdir(parents=True, exist_ok=True)
        text = [json.dumps(summary)]
        for key in ("self_cpu_time_total", "self_device_time_total"):
            text.append(f"\n== sorted by {key} ==")
            table = events.table(sort_by=key, row_limit=30, max_name_column_width=60)
            text.append(table)
        (self.out / f"train_profile_{name}.txt").write_text("\n".join(text))
        logger.info("profile: %s", json.dumps(summary))
        self.prof = None
        control.should_training_stop = True

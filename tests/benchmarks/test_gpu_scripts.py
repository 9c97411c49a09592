"""The GPU-only benchmark entry points parse and start (they run on CUDA only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "script",
    ["gpu_runs.sh", "gpu_env.sh", "gpu_site_run.sh", "stage_chunks.sh"],
    ids=str,
)
def test_shell_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / script)], check=True)


def test_train_throughput_lists_its_levers() -> None:
    out = subprocess.run(
        [sys.executable, "benchmarks/train_throughput.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--levers-8b" in out and "--seed-steps-small" in out
    assert "--profile" in out and "--skip-seed" in out

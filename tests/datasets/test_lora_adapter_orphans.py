"""LoRAAdapterDataset: version folders of killed saves are reported or removed.

The saves are real ``LoRAAdapterDataset.save`` calls of a real peft adapter in
child processes. Their ``training_info`` holds a value whose JSON rendering
blocks, so each child stops inside the dataset's writer (weights and tokenizer
written, ``training_info.json`` not) until the test kills it with SIGKILL, or
leaves it running as a save still in progress.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kedro.io import Version

from expert_kedro.datasets import LoRAAdapterDataset
from tests.datasets.test_lora_adapter_dataset import _adapter

CHILD = """
import sys, time
from pathlib import Path
from kedro.io import Version
from expert_kedro.datasets import LoRAAdapterDataset
from tests.datasets.test_lora_adapter_dataset import _adapter

model_dir, filepath, version, flag = sys.argv[1:5]

class Blocks:
    def __str__(self):
        Path(flag).touch()
        time.sleep(600)
        return "never"

adapter = _adapter(Path(model_dir), seed=5)
adapter.training_info["blocks"] = Blocks()
LoRAAdapterDataset(filepath=filepath, version=Version(None, version)).save(adapter)
"""


def _blocked_save(model: Path, filepath: Path, version: str) -> subprocess.Popen:
    flag = filepath.parent / f"{version}.inside-writer"
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(model), str(filepath), version, str(flag)],
        cwd=repo,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(repo / "src"), str(repo)]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not flag.exists():
        assert child.poll() is None, child.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "the save never reached its writer"
        time.sleep(0.05)
    return child


@pytest.mark.slow
def test_killed_saves_are_removed_and_live_ones_reported(
    tiny_model: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    filepath = tmp_path / "lora_adapter"
    complete = "2026-01-01T00.00.00.000Z"
    LoRAAdapterDataset(filepath=str(filepath), version=Version(None, complete)).save(
        _adapter(tiny_model, 1)
    )
    orphan = filepath / "2026-01-02T00.00.00.000Z"
    live = filepath / "2026-01-03T00.00.00.000Z"
    killed = _blocked_save(tiny_model, filepath, orphan.name)
    running = _blocked_save(tiny_model, filepath, live.name)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        for folder in (orphan, live):
            leftovers = list(folder.iterdir())
            assert [p.name.startswith(".lora_adapter.tmp-") for p in leftovers] == [
                True
            ]
            assert (leftovers[0] / "adapter_model.safetensors").is_file()

        latest = LoRAAdapterDataset(filepath=str(filepath), version=Version(None, None))
        with caplog.at_level(logging.WARNING):
            handle = latest.load()  # the newest complete version; orphans reported
        assert Path(handle.path) == filepath / complete / "lora_adapter"
        assert str(orphan) in caplog.text and str(live) in caplog.text
        assert orphan.is_dir()  # loading only reports

        caplog.clear()
        newer = "2026-01-04T00.00.00.000Z"
        with caplog.at_level(logging.INFO):
            LoRAAdapterDataset(
                filepath=str(filepath), version=Version(None, newer)
            ).save(_adapter(tiny_model, 2))
        assert not orphan.exists()  # its writer is dead: removed
        assert f"Removed adapter version {orphan}" in caplog.text
        assert live.is_dir() and any(live.iterdir())  # still being written: kept
        assert f"Adapter version {live} holds no lora_adapter" in caplog.text
        assert (filepath / complete / "lora_adapter" / "adapter_config.json").is_file()
        reloaded = LoRAAdapterDataset(
            filepath=str(filepath), version=Version(None, None)
        )
        assert reloaded.load().training_info["seed"] == 2
    finally:
        running.kill()
        running.wait(timeout=60)

"""Which checkpoint a resume uses, and the seeded length-grouped shuffle."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from expert_kedro.modeling.checkpoints import (
    clear_stale_checkpoints,
    remove_incomplete_checkpoints,
    resolve_resume,
)
from expert_kedro.modeling.sft_trainer import EpochSeededLengthGroupedSampler

STATES = {"complete": '{{"global_step": {}}}', "truncated": '{{"global_st'}


def _checkpoint(root: Path, step: int, state: str = "complete") -> Path:
    """A checkpoint folder; the Trainer writes trainer_state.json last, so a kill
    leaves it ``missing`` or ``truncated``."""
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    if state in STATES:
        (folder / "trainer_state.json").write_text(STATES[state].format(step))
    return folder


def test_resume_true_takes_the_latest_complete_checkpoint(tmp_path: Path):
    _checkpoint(tmp_path, 4)
    eight = _checkpoint(tmp_path, 8)
    half = _checkpoint(tmp_path, 12, "missing")  # killed while saving
    cut = _checkpoint(tmp_path, 16, "truncated")
    (tmp_path / "README.md").write_text("not a checkpoint")
    assert resolve_resume(True, str(tmp_path)) == str(eight)
    assert resolve_resume("true", str(tmp_path)) == str(eight)
    assert half.is_dir() and cut.is_dir()  # resolving never deletes
    remove_incomplete_checkpoints(str(tmp_path))
    assert not half.exists() and not cut.exists()
    assert eight.is_dir() and (tmp_path / "checkpoint-4").is_dir()


def test_resume_without_a_usable_checkpoint_starts_fresh(tmp_path: Path):
    assert resolve_resume(True, str(tmp_path / "missing")) is None
    _checkpoint(tmp_path, 4, "truncated")
    assert resolve_resume(True, str(tmp_path)) is None
    assert resolve_resume(False, str(tmp_path)) is None


def test_explicit_checkpoint_must_exist_and_be_complete(tmp_path: Path):
    complete = _checkpoint(tmp_path, 4)
    half = _checkpoint(tmp_path, 8, "missing")
    assert resolve_resume(str(complete), str(tmp_path)) == str(complete)
    with pytest.raises(FileNotFoundError, match="not fully written"):
        resolve_resume(str(half), str(tmp_path))
    with pytest.raises(FileNotFoundError, match="is not a checkpoint folder"):
        resolve_resume(str(tmp_path / "checkpoint-99"), str(tmp_path))


def test_fresh_run_clears_every_checkpoint(tmp_path: Path):
    _checkpoint(tmp_path, 4)
    _checkpoint(tmp_path, 8, "missing")
    clear_stale_checkpoints(str(tmp_path))
    assert not list(tmp_path.glob("checkpoint-*"))


def test_length_grouped_shuffle_depends_on_seed_and_epoch_only():
    lengths = [5, 9, 3, 7, 11, 2, 8, 6, 4, 10, 12, 1]
    sampler = EpochSeededLengthGroupedSampler(2, lengths, seed=42)
    orders = []
    for epoch in (0, 1, 0):
        sampler.set_epoch(epoch)
        torch.manual_seed(epoch + 123)  # the global RNG has no say
        orders.append(list(sampler))
    assert orders[0] == orders[2] != orders[1]
    assert sorted(orders[0]) == list(range(len(lengths)))
    resumed = EpochSeededLengthGroupedSampler(2, lengths, seed=42)
    resumed.set_epoch(1)
    assert list(resumed) == orders[1]

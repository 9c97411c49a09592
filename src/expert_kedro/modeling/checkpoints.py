"""Trainer checkpoints of an interrupted run: which one to resume, which to drop.

The Trainer writes ``checkpoint-<step>`` folders file by file and
``trainer_state.json`` last, so a run killed while saving leaves a folder without
it (or with a truncated one). Such a folder cannot be resumed from (no step, no
log) and is never the latest usable checkpoint; the resumed run writes that step
again.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
_STEP = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def _checkpoints(checkpoint_dir: str) -> list[tuple[int, Path]]:
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in folder.iterdir()
        if path.is_dir() and (match := _STEP.match(path.name))
    ]
    return sorted(found)


def is_complete(checkpoint: Path) -> bool:
    """Whether a checkpoint folder was fully written (its trainer state reads)."""
    try:
        state = json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and "global_step" in state


def remove_incomplete_checkpoints(checkpoint_dir: str) -> None:
    """Remove checkpoint folders a kill left half-written (no trainer state).

    Only a save interrupted by a kill leaves one; the resumed run writes that step
    again, and the Trainer's rotation would otherwise count the half as a
    checkpoint. Complete checkpoints are never touched.

    Args:
        checkpoint_dir: Where checkpoints are written.
    """
    for step, path in _checkpoints(checkpoint_dir):
        if not is_complete(path):
            logger.warning(
                "Removing incomplete checkpoint %s (no readable %s: the run was "
                "killed while saving step %d)",
                path,
                TRAINER_STATE,
                step,
            )
            shutil.rmtree(path, ignore_errors=True)


def resolve_resume(resume: bool | str | None, checkpoint_dir: str) -> str | None:
    """Turn the ``resume_from_checkpoint`` parameter into a checkpoint path.

    Args:
        resume: False/None (fresh run), True (latest complete checkpoint in
            ``checkpoint_dir``, fresh run with a warning if there is none) or an
            explicit checkpoint folder.
        checkpoint_dir: Where checkpoints are written.

    Returns:
        Checkpoint folder to resume from, or None. ``True`` skips incomplete
        checkpoints (killed mid-save; see :func:`remove_incomplete_checkpoints`).

    Raises:
        FileNotFoundError: If an explicit checkpoint folder does not exist or was
            not fully written.
    """
    if not resume:
        return None
    if resume is True or str(resume).lower() == "true":
        found = [c for c in _checkpoints(checkpoint_dir) if is_complete(c[1])]
        if not found:
            logger.warning(
                "resume_from_checkpoint=true but %s has no checkpoint; starting fresh",
                checkpoint_dir,
            )
            return None
        return str(found[-1][1])
    folder = Path(str(resume))
    if not folder.is_dir():
        raise FileNotFoundError(
            f"resume_from_checkpoint={resume!r} is not a checkpoint folder; use "
            f"true (latest in {checkpoint_dir}) or an existing checkpoint-<step> path."
        )
    if not is_complete(folder):
        raise FileNotFoundError(
            f"resume_from_checkpoint={resume!r} has no readable {TRAINER_STATE}: "
            "it was not fully written (run killed while saving). Use an earlier "
            f"checkpoint or true (latest complete one in {checkpoint_dir})."
        )
    return str(folder)


def clear_stale_checkpoints(checkpoint_dir: str) -> None:
    """Remove every checkpoint of an earlier run before a fresh run starts.

    A fresh run must not later "resume" from (or rotate against) checkpoints of an
    older, differently configured run.

    Args:
        checkpoint_dir: Where checkpoints are written.
    """
    stale = _checkpoints(checkpoint_dir)
    for _, folder in stale:
        shutil.rmtree(folder)
    if stale:
        logger.info("Removed %d checkpoint(s) of a previous run", len(stale))

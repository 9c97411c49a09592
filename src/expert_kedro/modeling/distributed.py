"""Where this process sits in a distributed (DDP / FSDP) training launch.

``accelerate launch`` and ``torchrun`` start one process per GPU (or per CPU slot
with ``--cpu``) and describe it through environment variables: ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, and ``ACCELERATE_USE_FSDP=true`` for FSDP. Reading
them here (instead of initialising ``torch.distributed`` early) lets model loading
pick the right GPU before the Trainer sets the process group up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DistributedEnv:
    """This process's place in the launch.

    Attributes:
        rank: Global rank (0 writes the catalog datasets).
        local_rank: Rank on this host = the GPU index this process owns.
        world_size: Number of processes; 1 for a plain ``kedro run``.
        fsdp: True when launched with an FSDP accelerate config.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    fsdp: bool = False

    @property
    def is_distributed(self) -> bool:
        """True when more than one process trains together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True for the process that writes outputs (global rank 0)."""
        return self.rank == 0


def distributed_env() -> DistributedEnv:
    """Read the launcher's environment variables.

    Returns:
        The :class:`DistributedEnv` of this process (single-process defaults when
        not launched by accelerate/torchrun).
    """
    return DistributedEnv(
        rank=int(os.environ.get("RANK", "0")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        world_size=int(os.environ.get("WORLD_SIZE", "1")),
        fsdp=os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true",
    )


def model_device_map(device: str, env: DistributedEnv | None = None) -> Any:
    """``device_map`` for ``from_pretrained`` in this process.

    Args:
        device: ``"cuda"`` or ``"cpu"`` (from ``detect_hardware``).
        env: The launch description; read from the environment when omitted.

    Returns:
        ``{"": "cpu"}`` on CPU; under FSDP ``None`` (FSDP itself places the shards,
        and a device map would put a full copy of the base model on every GPU);
        otherwise the whole model on this process's own GPU, ``{"": local_rank}``
        (under DDP each GPU holds its own 4-bit copy of the base model).
    """
    env = env or distributed_env()
    if device != "cuda":
        return {"": "cpu"}
    if env.fsdp:
        return None
    return {"": env.local_rank}


def wait_for_everyone() -> None:
    """Barrier across the launch's processes; returns at once in a plain run.

    Uses accelerate's ``PartialState``, which initialises the process group from
    the launcher's variables (gloo on CPU, NCCL on GPUs) and is the same state
    the Trainer uses afterwards.
    """
    if not distributed_env().is_distributed:
        return
    from accelerate import PartialState  # noqa: PLC0415 - heavy import

    PartialState().wait_for_everyone()

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


@dataclass(frozen=True)
class GatheredPeftModel:
    """An FSDP-trained ``PeftModel`` plus its full (unsharded) state dict.

    Under FSDP each rank holds only a shard of every weight, so
    ``PeftModel.save_pretrained`` alone would write shards (or hang in FSDP's
    collective state-dict hooks on rank 0). The full state dict is gathered on all
    ranks at the end of training; this wrapper hands it to ``save_pretrained``,
    which keeps only the adapter weights, when ``LoRAAdapterDataset`` saves on
    rank 0.

    Attributes:
        model: The trained ``PeftModel``.
        state_dict: Full state dict from ``accelerator.get_state_dict`` (complete
            on rank 0, empty elsewhere).
    """

    model: Any
    state_dict: dict[str, Any]

    @property
    def peft_config(self) -> Any:
        """The wrapped model's adapter configuration."""
        return self.model.peft_config

    def save_pretrained(self, folder: str, **kwargs: Any) -> None:
        """Write the adapter from the gathered weights."""
        self.model.save_pretrained(folder, state_dict=self.state_dict, **kwargs)


def gather_fsdp_adapter(trainer: Any, peft_model: Any) -> GatheredPeftModel:
    """Gather an FSDP-sharded model's full state dict (call on every rank).

    Args:
        trainer: The finished ``Trainer`` (its accelerator wraps the model).
        peft_model: The unwrapped ``PeftModel`` given to the Trainer.

    Returns:
        A :class:`GatheredPeftModel` that saves like a ``PeftModel``.
    """
    accelerator = trainer.accelerator
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    if plugin is not None:
        plugin.set_state_dict_type("FULL_STATE_DICT")
    # A collective: every rank must call it, rank 0 receives the full weights.
    return GatheredPeftModel(peft_model, accelerator.get_state_dict(trainer.model))

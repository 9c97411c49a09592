"""Kedro hooks that make a ``kedro run`` safe under ``accelerate launch``/``torchrun``.

Every process of a distributed launch runs the same ``kedro run``. Without care,
each rank would write its own timestamped version of every versioned output, and
a rank could read a newer input version than the others. ``DistributedRunHooks``
(a no-op in a plain single-process run):

1. refuses pipelines with nodes other than the training ones (upstream nodes
   such as tokenization must run once, single-process, beforehand);
2. lets rank 0 resolve the load version of every versioned input (e.g. the
   latest ``tokenized_train``) and broadcasts it, so all ranks pin the same one;
3. swaps every persisted output for an in-memory dataset on ranks other than 0,
   so only rank 0 writes (one version, rank 0's session timestamp, no races).
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset, DataCatalog, MemoryDataset, Version
from kedro.pipeline import Pipeline

from expert_kedro.modeling.distributed import distributed_env

logger = logging.getLogger(__name__)

DISTRIBUTED_NODES = frozenset(
    {"verify_hardware_node", "train_lora_adapter_node", "plot_loss_curve_node"}
)
"""Nodes that may run under a multi-process launch (all ranks run them)."""

DISTRIBUTED_COMMAND = (
    "accelerate launch --config_file conf/multi_gpu/accelerate_ddp.yaml "
    "-m kedro run --env multi_gpu --pipelines=model_training "
    "--from-nodes=verify_hardware_node"
)


def check_distributed_pipeline(pipeline: Pipeline) -> None:
    """Fail early when a distributed launch would run non-training nodes.

    Args:
        pipeline: The (filtered) pipeline about to run.

    Raises:
        ValueError: Naming the offending nodes and the two commands to use.
    """
    extra = sorted(node.name for node in pipeline.nodes) if pipeline.nodes else []
    extra = [name for name in extra if name not in DISTRIBUTED_NODES]
    if extra:
        raise ValueError(
            f"A distributed launch runs only {sorted(DISTRIBUTED_NODES)}, but this "
            f"run also has {extra}: every rank would redo (and race to write) "
            "them. Prepare the data once, single-process: `kedro run "
            "--pipelines=training --to-nodes=tokenize_train_node,"
            f"tokenize_validation_node`, then train: `{DISTRIBUTED_COMMAND}` "
            "(scripts/train_multi_gpu.sh does both; docs/multi_gpu.md)."
        )


def _broadcast_from_main(value: Any) -> Any:
    import torch.distributed as dist  # noqa: PLC0415

    payload = [value]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


def _resolve_load_versions(catalog: DataCatalog, names: list[str]) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    for name in names:
        dataset = catalog.get(name)
        if isinstance(dataset, AbstractVersionedDataset):
            try:
                versions[name] = dataset.resolve_load_version()
            except Exception:  # noqa: BLE001 - the load itself reports it clearly
                versions[name] = None
    return versions


class DistributedRunHooks:
    """Rank-0-only writes and agreed input versions for DDP/FSDP ``kedro run``."""

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: DataCatalog
    ) -> None:
        """Pin input versions (rank 0's choice) and silence writes of ranks > 0."""
        env = distributed_env()
        if not env.is_distributed:
            return
        check_distributed_pipeline(pipeline)
        from accelerate import PartialState  # noqa: PLC0415 - heavy import

        PartialState()  # joins the process group (gloo on CPU, NCCL on GPU)
        inputs = sorted(pipeline.inputs())
        mine = _resolve_load_versions(catalog, inputs) if env.is_main else None
        agreed: dict[str, Any] = _broadcast_from_main(mine)
        for name, version in agreed.items():
            if version is not None:
                catalog[name] = catalog.get(name, version=Version(version, None))
            logger.info("rank %d loads %s version %s", env.rank, name, version)
        if env.is_main:
            logger.info(
                "rank 0 of %d writes the outputs (save version %s)",
                env.world_size,
                run_params.get("run_id"),
            )
            return
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if dataset is not None and not isinstance(dataset, MemoryDataset):
                catalog[name] = MemoryDataset(copy_mode="assign")
                logger.info(
                    "rank %d keeps %s in memory (rank 0 saves it)", env.rank, name
                )

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Wait until rank 0 has written everything, then leave the process group."""
        env = distributed_env()
        if not env.is_distributed:
            return
        import torch.distributed as dist  # noqa: PLC0415

        if dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()

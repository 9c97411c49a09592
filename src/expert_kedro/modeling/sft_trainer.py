"""trl's ``SFTTrainer`` with a resume that continues the interrupted run exactly.

Two things in the libraries make a resumed QLoRA run drift from the run it
continues; :class:`ResumableSFTTrainer` fixes both and nothing else:

* **Adapter dtype.** ``SFTTrainer`` casts the LoRA weights of a quantized base to
  bfloat16 (QLoRA recipe). On resume, ``Trainer._load_from_checkpoint`` reloads
  them with ``PeftModel.load_adapter``, whose ``autocast_adapter_dtype`` upcasts
  them to float32 *before* the optimizer is built: the rest of the run trains
  (and the adapter is saved) in float32, with the bfloat16 optimizer moments cast
  to match. The trainable parameters get their dtype back right after the load
  (bfloat16 -> float32 -> bfloat16 is exact).
* **Data order.** ``group_by_length`` shuffles with the global torch RNG when the
  epoch's iterator starts, so the order depends on everything that drew from that
  RNG before (an evaluation, the previous epochs' dropout). A resumed run starts
  from a different state and would see other batches. Here each epoch's shuffle
  comes from its own generator seeded with ``data_seed + epoch``, as accelerate's
  ``SeedableRandomSampler`` does for the plain random order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler
from trl import SFTTrainer

logger = logging.getLogger(__name__)


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """Length-grouped shuffle that depends only on the seed and the epoch.

    The Trainer (through accelerate's data loader) calls :meth:`set_epoch` before
    every epoch, also on resume, so epoch ``e`` always sees the same batches.
    """

    def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
        """Create the sampler.

        Args:
            batch_size: Examples per micro-batch times gradient accumulation steps.
            lengths: Token count of every training example.
            seed: Base seed of the shuffles (``data_seed``).
        """
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffle of ``epoch``."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        """Indices of the current epoch, from a generator seeded for it."""
        self.generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return super().__iter__()


class ResumableSFTTrainer(SFTTrainer):
    """``SFTTrainer`` whose resume keeps the adapter dtype and the data order."""

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        sampler = super()._get_train_sampler(train_dataset)
        if type(sampler) is LengthGroupedSampler and sampler.generator is None:
            seed = self.args.data_seed
            return EpochSeededLengthGroupedSampler(
                sampler.batch_size,
                sampler.lengths,
                self.args.seed if seed is None else seed,
            )
        return sampler

    def _load_from_checkpoint(
        self, resume_from_checkpoint: str, model: Any = None
    ) -> None:
        target = self.model if model is None else model
        dtypes = {
            name: param.dtype
            for name, param in target.named_parameters()
            if param.requires_grad
        }
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        restored = set()
        for name, param in target.named_parameters():
            wanted = dtypes.get(name)
            if wanted is not None and param.dtype != wanted:
                restored.add(f"{param.dtype} -> {wanted}")
                param.data = param.data.to(wanted)
        if restored:
            logger.info(
                "Resume: adapter weights reloaded by peft cast back to the dtype "
                "they trained in (%s)",
                ", ".join(sorted(restored)),
            )

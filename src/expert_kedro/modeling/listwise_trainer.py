"""The trainer of ``model_training.ranking_loss.weight > 0``: SFT plus listwise loss.

:class:`ListwiseSFTTrainer` is :class:`~expert_kedro.modeling.sft_trainer.
ResumableSFTTrainer` with three changes, all confined to training batches:

* **Batches of whole queries.** The training data loader draws its batches from
  :class:`~expert_kedro.modeling.query_batches.QueryBatchSampler` (seeded by
  ``data_seed`` and the epoch, so a resumed run sees the same batches) instead of
  the length-grouped or random sampler; ``group_by_length`` has no say.
* **Query membership in the batch.** trl's collator is wrapped by
  :class:`~expert_kedro.modeling.query_batches.QueryCollator`, which turns the
  examples' ``query`` column into per-example tensors (query index, answer
  position, yes/no); ``compute_loss`` pops them before the forward pass.
* **The loss.** trl computes the SFT loss with its fused LM head, which never
  builds the logits; a forward hook keeps the backbone's last hidden states of
  that same forward pass, and the LM head is applied to the few answer positions
  only, giving each candidate's ``logit(yes) - logit(no)``. The loss trained is
  the SFT loss plus ``weight`` times the listwise loss
  (:func:`~expert_kedro.modeling.ranking_loss.listwise_loss`), logged as
  ``rank_loss``. Evaluation batches carry no queries: ``eval_loss`` stays the
  plain SFT loss.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
from torch.utils.data import DataLoader
from transformers.trainer_utils import seed_worker

from expert_kedro.modeling.query_batches import (
    RANK_KEYS,
    RANK_POSITION,
    RANK_POSITIVE,
    RANK_QUERY,
    QueryBatchSampler,
    QueryCollator,
)
from expert_kedro.modeling.ranking_loss import answer_scores, listwise_loss
from expert_kedro.modeling.settings import RankingLossSettings
from expert_kedro.modeling.sft_trainer import ResumableSFTTrainer
from expert_kedro.scoring.llm_scoring import yes_no_ids
from expert_kedro.training_data.queries import QUERY_COLUMN

logger = logging.getLogger(__name__)

SETTING = "model_training.ranking_loss.weight > 0"
# Config fields of bases whose logits are more than the LM head's output: a
# soft-cap (any value) or a scale (any value but 1).
SOFT_CAPS = ("final_logit_softcapping",)
SCALES = ("logit_scale", "logits_scaling", "lm_head_multiplier", "output_multiplier")


def transforms_logits(config: Any) -> list[str]:
    """The fields of ``config`` that change the logits after the LM head."""
    text = config.get_text_config()
    capped = [key for key in SOFT_CAPS if getattr(text, key, None) is not None]
    scaled = [key for key in SCALES if getattr(text, key, None) not in (None, 1)]
    return capped + scaled


@contextmanager
def captured_hidden_states(backbone: Any) -> Iterator[dict[str, torch.Tensor]]:
    """Keep the last hidden states of ``backbone``'s first forward pass inside.

    Yields:
        A dict whose ``"hidden"`` holds ``[rows, length, width]`` once the
        backbone has run (still attached to the autograd graph).
    """
    captured: dict[str, torch.Tensor] = {}

    def keep(module: Any, args: Any, output: Any) -> None:
        hidden = getattr(output, "last_hidden_state", None)
        captured.setdefault("hidden", output[0] if hidden is None else hidden)

    handle = backbone.register_forward_hook(keep)
    try:
        yield captured
    finally:
        handle.remove()


class ListwiseSFTTrainer(ResumableSFTTrainer):
    """SFT on yes/no answers plus a listwise loss over each query's candidates."""

    def __init__(self, *args: Any, ranking: RankingLossSettings, **kwargs: Any):
        """Build the trainer; ``ranking`` weights the listwise term.

        The training dataset must keep the examples' ``query`` column (written by
        :func:`~expert_kedro.modeling.tokenization.tokenize_pairs`).

        Raises:
            ValueError: Naming ``model_training.ranking_loss.weight`` when the run
                cannot train it (FSDP, trl's packing, a base whose logits are
                scaled or soft-capped after the LM head).
        """
        super().__init__(*args, **kwargs)
        self.ranking = ranking
        if self.is_fsdp_enabled:
            raise ValueError(
                f"{SETTING} is not supported under FSDP (the LM head is sharded); "
                "train it with DDP or on one GPU, or set it to 0."
            )
        if getattr(self.args, "packing", False):
            raise ValueError(f"{SETTING} does not support trl's packing=true.")
        transformed = transforms_logits(self._causal_lm().config)
        if transformed:
            raise ValueError(
                f"{SETTING} reads the yes/no logits as the LM head's output; this "
                f"base changes them after the head ({', '.join(transformed)})."
            )
        self.yes_no = yes_no_ids(self.processing_class)
        self.data_collator = QueryCollator(
            self.data_collator, self.yes_no, padding_free=bool(self.padding_free)
        )

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if QUERY_COLUMN not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, QUERY_COLUMN]

    def get_train_dataloader(self) -> DataLoader:
        """Training batches of whole queries (:class:`QueryBatchSampler`)."""
        dataset = self._remove_unused_columns(self.train_dataset, "training")
        seed = self.args.seed if self.args.data_seed is None else self.args.data_seed
        sampler = QueryBatchSampler(
            dataset[QUERY_COLUMN], self.args.per_device_train_batch_size, seed
        )
        logger.info(
            "Listwise ranking loss (weight %g, temperature %g): %d queries in %d "
            "batches of at most %d examples per epoch",
            self.ranking.weight,
            self.ranking.temperature,
            len(sampler.groups),
            len(sampler),
            sampler.max_batch_size,
        )
        workers = self.args.dataloader_num_workers
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers,
            prefetch_factor=self.args.dataloader_prefetch_factor,
            worker_init_fn=partial(
                seed_worker, num_workers=workers, rank=self.args.process_index
            ),
        )
        return self.accelerator.prepare(loader)

    def _causal_lm(self) -> Any:
        """The model trl patched with its fused LM head (the base of the adapter)."""
        model = self.model
        return model.get_base_model() if hasattr(model, "get_base_model") else model

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """trl's SFT loss, plus ``weight`` times the listwise loss in training."""
        groups = {key: inputs.pop(key) for key in RANK_KEYS if key in inputs}
        if not groups or not self.model.training:
            return super().compute_loss(
                model, inputs, return_outputs, num_items_in_batch
            )
        causal = self._causal_lm()
        # trl's fused forward runs exactly this module (``base_model``) first.
        with captured_hidden_states(causal.base_model) as captured:
            result = super().compute_loss(
                model, inputs, return_outputs, num_items_in_batch
            )
        if "hidden" not in captured:
            raise RuntimeError("The backbone's hidden states were not captured.")
        scores = answer_scores(
            captured["hidden"],
            causal.get_output_embeddings(),
            groups[RANK_POSITION],
            self.yes_no,
        )
        rank, queries = listwise_loss(
            scores,
            groups[RANK_QUERY],
            groups[RANK_POSITIVE],
            self.ranking.temperature,
        )
        self._record_rank_loss(rank, queries)
        # Like trl's auxiliary loss: with num_items_in_batch the Trainer leaves the
        # gradient-accumulation average to the loss.
        steps = (
            self.current_gradient_accumulation_steps
            if num_items_in_batch is not None
            else 1
        )
        extra = self.ranking.weight * rank / steps
        if return_outputs:
            return result[0] + extra, result[1]
        return result + extra

    def _record_rank_loss(self, rank: torch.Tensor, queries: int) -> None:
        """Add the batch's listwise loss to the logged ``rank_loss`` (every rank
        takes part in the reduction, also with no query to rank)."""
        totals = torch.tensor(
            [float(rank.detach()) * queries, float(queries)],
            device=rank.device,
        )
        total, count = self.accelerator.reduce(totals, reduction="sum").tolist()
        if count > 0:
            self._metrics["train"]["rank_loss"].append(total / count)

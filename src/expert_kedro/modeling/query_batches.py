"""Training batches of whole queries, and which query each example belongs to.

The listwise ranking loss (:mod:`expert_kedro.modeling.ranking_loss`) compares the
candidates of one query (an agenda), so all of them must be in the same batch, and
the loss must know which examples belong together:

* :class:`QueryBatchSampler` deals whole queries into batches of at most
  ``per_device_train_batch_size`` examples, every example once per epoch, in an
  order that depends only on the seed and the epoch (a resumed run sees the
  batches of the uninterrupted one, as with
  :class:`~expert_kedro.modeling.sft_trainer.EpochSeededLengthGroupedSampler`);
* :class:`QueryCollator` wraps trl's collator: it takes each example's query key
  (the ``query`` column of the tokenized examples) out before trl collates, then
  adds three per-example tensors that the trainer's ``compute_loss`` pops before
  the forward pass: the batch-local query index, the flat position whose output
  predicts the answer token, and whether the answer is "yes". Both batch layouts
  of the recipes are handled: padded rows (one example per row, right padding) and
  padding-free (every example concatenated into one row, in batch order).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Sampler

from expert_kedro.modeling.prompts import IGNORE_INDEX
from expert_kedro.training_data.queries import QUERY_COLUMN

logger = logging.getLogger(__name__)

RANK_QUERY = "rank_query"
RANK_POSITION = "rank_position"
RANK_POSITIVE = "rank_positive"
RANK_KEYS = (RANK_QUERY, RANK_POSITION, RANK_POSITIVE)
"""Batch entries the collator adds and ``compute_loss`` removes."""


def pack_sizes(sizes: Sequence[int], capacity: int) -> list[list[int]]:
    """Batch shapes: the query sizes of each batch, packed first-fit decreasing.

    Args:
        sizes: Examples of each query.
        capacity: Most examples per batch; a larger query is a batch of its own.

    Returns:
        Per batch, the sizes of the queries it holds.
    """
    shapes: list[list[int]] = []
    room: list[int] = []
    for size in sorted(sizes, reverse=True):
        slot = next((b for b, free in enumerate(room) if size <= free), None)
        if slot is None:
            shapes.append([size])
            room.append(capacity - size)
        else:
            shapes[slot].append(size)
            room[slot] -= size
    return shapes


class QueryBatchSampler(Sampler[list[int]]):
    """Batches of whole queries, shuffled by ``seed + epoch``.

    The Trainer sizes every epoch from ``len(dataloader)`` once, so the number of
    batches must not change between epochs: the batch *shapes* (how many queries
    of which size) are packed once, first-fit decreasing, and each epoch deals the
    shuffled queries into them (a query goes to a slot of its own size) and
    shuffles the batches. With queries of equal size, as the rerank examples mostly
    are, every epoch is a fresh random grouping of the queries.

    Attributes:
        groups: Dataset indices of each query, in order of first appearance.
        shapes: Per batch, the sizes of its queries.
        max_batch_size: Most examples per batch (``per_device_train_batch_size``).
            Not named ``batch_size``: accelerate would then expect every batch to
            have that size when it shards them over processes.
        seed: Base seed of the shuffles (``data_seed``).
        epoch: Epoch whose batches :meth:`__iter__` yields (:meth:`set_epoch`).
    """

    def __init__(self, queries: Sequence[str], max_batch_size: int, seed: int) -> None:
        """Group the examples by query and pack the batch shapes.

        Args:
            queries: Query key of every training example, in dataset order.
            max_batch_size: Most examples per batch.
            seed: Base seed of the shuffles.
        """
        groups: dict[str, list[int]] = {}
        for index, key in enumerate(queries):
            groups.setdefault(key, []).append(index)
        self.groups = list(groups.values())
        self.max_batch_size = max_batch_size
        self.shapes = pack_sizes([len(g) for g in self.groups], max_batch_size)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the batches of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches per epoch (the same every epoch)."""
        return len(self.shapes)

    def __iter__(self) -> Iterator[list[int]]:
        """The dataset indices of each batch of the current epoch."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        dealt: dict[int, list[int]] = defaultdict(list)
        for query in torch.randperm(len(self.groups), generator=generator).tolist():
            dealt[len(self.groups[query])].append(query)
        for batch in torch.randperm(len(self.shapes), generator=generator).tolist():
            yield [
                index
                for size in self.shapes[batch]
                for index in self.groups[dealt[size].pop()]
            ]


@dataclass(frozen=True)
class QueryCollator:
    """trl's collator plus each example's query, answer position and label.

    Batches whose examples have no ``query`` (the validation set) are collated
    by ``inner`` alone, so their loss is the plain SFT loss.

    Attributes:
        inner: trl's ``DataCollatorForLanguageModeling`` of the trainer.
        yes_no: The ``(yes, no)`` answer token ids.
        padding_free: Whether ``inner`` concatenates the batch into one row.
    """

    inner: Callable[[list[dict[str, Any]]], dict[str, Any]]
    yes_no: tuple[int, int]
    padding_free: bool

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        """Collate ``features``; add :data:`RANK_KEYS` when they carry queries."""
        if not features or QUERY_COLUMN not in features[0]:
            return self.inner(features)
        keys = [feature[QUERY_COLUMN] for feature in features]
        batch = self.inner(
            [{k: v for k, v in f.items() if k != QUERY_COLUMN} for f in features]
        )
        lengths = [len(feature["input_ids"]) for feature in features]
        positions, positive = self._answers(batch["labels"], lengths)
        index = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        batch[RANK_QUERY] = torch.tensor([index[key] for key in keys])
        batch[RANK_POSITION] = positions
        batch[RANK_POSITIVE] = positive
        return batch

    def _answers(
        self, labels: torch.Tensor, lengths: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per example, the flat position predicting its answer and if it is yes.

        The answer token is an example's first trained label (the prompt is
        masked with -100); the position before it predicts it.

        Raises:
            ValueError: If the batch does not have the expected layout, or an
                example's first trained token is neither "yes" nor "no".
        """
        rows, width = labels.shape
        if self.padding_free:
            expected = rows == 1 and sum(lengths) <= width
            starts = [sum(lengths[:i]) for i in range(len(lengths))]
        else:
            expected = rows == len(lengths) and max(lengths) <= width
            starts = [i * width for i in range(len(lengths))]
        if not expected:
            raise ValueError(
                f"Unexpected batch layout for the ranking loss: labels {rows}x"
                f"{width} for {len(lengths)} examples (padding_free="
                f"{self.padding_free})."
            )
        flat = labels.reshape(-1)
        answers = []
        for start, length in zip(starts, lengths, strict=True):
            trained = torch.nonzero(flat[start : start + length] != IGNORE_INDEX)
            if len(trained) == 0 or int(trained[0]) == 0:
                raise ValueError(
                    "The ranking loss needs every training example to have a "
                    "prompt followed by a trained answer (completion_only_loss)."
                )
            answers.append(start + int(trained[0]))
        tokens = flat[answers]
        yes, no = self.yes_no
        if not bool(((tokens == yes) | (tokens == no)).all()):
            raise ValueError(
                f"model_training.ranking_loss.weight > 0 needs rerank examples: a "
                f"training example's first answer token is one of "
                f"{sorted(set(tokens.tolist()) - {yes, no})}, not 'yes' ({yes}) or "
                f"'no' ({no}) (recommender.mode: rerank, "
                "tokenization.completion_only_loss: true)."
            )
        return torch.tensor(answers) - 1, tokens == yes

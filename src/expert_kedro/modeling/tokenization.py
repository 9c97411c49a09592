"""Turn (system, input, output) pair tables into tokenized training examples.

Works for any recommender mode: generation pairs (output ``Expert: <name> (ID ..)``)
and rerank pairs (output ``yes`` / ``no``) share the columns, and the loss mask is
placed by :func:`~expert_kedro.modeling.prompts.encode_pair` either way.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from datasets import Dataset

from expert_kedro.identifiers import as_id
from expert_kedro.modeling.prompts import PromptStyle, encode_pair

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("system", "input", "output")
CARRIED_COLUMNS = ("project_id", "expert_id", "source")
"""Identifiers kept beside the tokens so every example can be traced to its pair."""


def check_pair_columns(pairs: pd.DataFrame, name: str) -> None:
    """Fail clearly when a pairs table misses columns or has empty texts.

    Args:
        pairs: A ``*_pairs`` table.
        name: Dataset name, for the error message.

    Raises:
        ValueError: Naming the missing columns, or the first rows whose
            ``input`` / ``output`` is empty.
    """
    missing = [c for c in (*TEXT_COLUMNS, *CARRIED_COLUMNS) if c not in pairs.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; expected project_id, expert_id, "
            "system, input, output, source (see the data_processing contract)."
        )
    for column in ("input", "output"):
        text = pairs[column].fillna("").astype(str).str.strip()
        empty = pairs.index[text == ""]
        if len(empty):
            rows = pairs.loc[empty[:5], ["project_id", "expert_id"]].to_dict("records")
            raise ValueError(
                f"{name}: {len(empty)} row(s) have an empty '{column}' "
                f"(first: {rows}); fix them upstream in data_processing/augmentation."
            )


def _log_tokenized(
    dataset: Dataset, name: str, max_length: int, completion_only_loss: bool
) -> None:
    """Log how many examples and tokens ``dataset`` holds, and how many were cut."""
    lengths = pd.Series(dataset["length"])
    logger.info(
        "%s: %d examples, %d tokens (mean %.0f, max %d), %d truncated to "
        "max_length=%d, loss on %s",
        name,
        len(dataset),
        int(lengths.sum()),
        lengths.mean(),
        int(lengths.max()),
        int(sum(dataset["truncated"])),
        max_length,
        "assistant turn only" if completion_only_loss else "full sequence",
    )


def tokenize_pairs(
    pairs: pd.DataFrame,
    tokenizer: Any,
    *,
    max_length: int,
    completion_only_loss: bool = True,
    prompt_style: PromptStyle = "auto",
    name: str = "pairs",
) -> Dataset:
    """Tokenize pairs into ``input_ids`` / ``labels`` without padding.

    Args:
        pairs: Table with ``system``, ``input``, ``output`` and identifiers.
        tokenizer: Tokenizer of the base model.
        max_length: Longest sequence kept; longer ones are cut on the right and
            counted.
        completion_only_loss: Mask the prompt out of the loss (True) or train on
            the full sequence (False).
        prompt_style: ``auto`` / ``chat_template`` / ``fallback``.
        name: Name used in logs and errors.

    Returns:
        A ``datasets.Dataset`` with ``input_ids``, ``labels``, ``length``,
        ``truncated``, ``project_id``, ``expert_id``, ``source``. Examples whose
        assistant turn was cut away entirely (no trainable token left) are dropped,
        with a warning giving their count.
    """
    check_pair_columns(pairs, name)
    records: list[dict[str, Any]] = []
    dropped = 0
    for row in pairs.itertuples(index=False):
        encoded = encode_pair(
            tokenizer,
            str(row.system or ""),
            str(row.input),
            str(row.output),
            max_length=max_length,
            completion_only=completion_only_loss,
            style=prompt_style,
        )
        if encoded["completion_length"] == 0:
            dropped += 1
            continue
        records.append(
            {
                "input_ids": encoded["input_ids"],
                "labels": encoded["labels"],
                "length": len(encoded["input_ids"]),
                "truncated": encoded["truncated"],
                "project_id": as_id(row.project_id),
                "expert_id": as_id(row.expert_id),
                "source": str(row.source),
            }
        )
    if not records:
        raise ValueError(
            f"{name}: none of {len(pairs)} pairs keeps an assistant token within "
            f"max_length={max_length}; raise model_training.tokenization.max_length."
        )
    dataset = Dataset.from_list(records)
    _log_tokenized(dataset, name, max_length, completion_only_loss)
    if dropped:
        logger.warning(
            "%s: dropped %d of %d examples whose prompt alone exceeds max_length=%d",
            name,
            dropped,
            len(pairs),
            max_length,
        )
    return dataset

"""Turn (system, input, output) pair tables into tokenized training examples.

Works for any recommender mode: generation pairs (output ``Expert: <name> (ID ..)``)
and rerank pairs (output ``yes`` / ``no``) share the columns, and the loss mask is
placed by :func:`~expert_kedro.modeling.prompts.encode_pair` either way.

A prompt longer than its budget (``recommender.max_prompt_tokens``, or less when
``max_length`` minus the answer is tighter) is fitted by the length policy that
inference applies (:mod:`expert_kedro.training_data.prompt_fitting`): no example is
dropped or cut on the right because of its prompt; each shortened one is flagged
(``prompt_shortened``) and counted in one log line.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from datasets import Dataset

from expert_kedro.identifiers import as_id
from expert_kedro.modeling.prompts import PromptStyle, encode_pair
from expert_kedro.training_data.fit_report import FittingTally
from expert_kedro.training_data.prompt_fitting import DEFAULT_POLICY, PromptFitter
from expert_kedro.training_data.queries import QUERY_COLUMN, query_key

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("system", "input", "output")
CARRIED_COLUMNS = ("project_id", "expert_id", "source")
"""Identifiers kept beside the tokens so every example can be traced to its pair."""
QUERY_COLUMNS = ("agenda",)
"""Read to key each example's query (:mod:`expert_kedro.training_data.queries`)."""


def check_pair_columns(pairs: pd.DataFrame, name: str) -> None:
    """Fail clearly when a pairs table misses columns or has empty texts.

    Args:
        pairs: A ``*_pairs`` table.
        name: Dataset name, for the error message.

    Raises:
        ValueError: Naming the missing columns, or the first rows whose
            ``input`` / ``output`` is empty.
    """
    expected = (*TEXT_COLUMNS, *CARRIED_COLUMNS, *QUERY_COLUMNS)
    missing = [c for c in expected if c not in pairs.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; expected project_id, expert_id, "
            "agenda, system, input, output, source (see the data_processing "
            "contract)."
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
    max_prompt_tokens: int | None = None,
    prompt_fitting: str = DEFAULT_POLICY,
) -> Dataset:
    """Tokenize pairs into ``input_ids`` / ``labels`` without padding.

    Args:
        pairs: Table with ``system``, ``input``, ``output``, ``agenda`` and
            identifiers.
        tokenizer: Tokenizer of the base model.
        max_length: Longest sequence kept; longer ones are cut on the right and
            counted.
        completion_only_loss: Mask the prompt out of the loss (True) or train on
            the full sequence (False).
        prompt_style: ``auto`` / ``chat_template`` / ``fallback``.
        name: Name used in logs and errors.
        max_prompt_tokens: Prompt budget of inference (``recommender.
            max_prompt_tokens``); None: only ``max_length`` bounds the prompt.
        prompt_fitting: Length policy (``recommender.prompt_fitting``).

    Returns:
        A ``datasets.Dataset`` with ``input_ids``, ``labels``, ``length``,
        ``truncated``, ``prompt_shortened``, ``project_id``, ``expert_id``,
        ``source`` and ``query`` (the key of the example's (project, agenda), by
        which the listwise ranking loss groups candidates). An example whose
        prompt cannot fit even after the length policy (a ``max_length`` below
        the system prompt and the answer) is cut on the right as before and
        dropped when no answer token is left, counted.
    """
    check_pair_columns(pairs, name)
    fitter = PromptFitter(tokenizer, prompt_fitting, prompt_style)
    tally = FittingTally(prompt_fitting, max_prompt_tokens or max_length)
    records: list[dict[str, Any]] = []
    dropped = 0
    for row in pairs.itertuples(index=False):
        encoded, shortened = _encode_fitted(
            fitter,
            tally,
            row,
            max_length=max_length,
            max_prompt_tokens=max_prompt_tokens,
            completion_only=completion_only_loss,
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
                "prompt_shortened": shortened,
                "project_id": as_id(row.project_id),
                "expert_id": as_id(row.expert_id),
                "source": str(row.source),
                QUERY_COLUMN: query_key(row.project_id, row.agenda),
            }
        )
    if not records:
        raise ValueError(
            f"{name}: none of {len(pairs)} pairs keeps an assistant token within "
            f"max_length={max_length}; raise model_training.tokenization.max_length."
        )
    dataset = Dataset.from_list(records)
    _log_tokenized(dataset, name, max_length, completion_only_loss)
    tally.log(f"{name} tokenization", "cut on the right")
    if dropped:
        logger.warning(
            "%s: dropped %d of %d examples whose prompt cannot fit max_length=%d "
            "even after the length policy",
            name,
            dropped,
            len(pairs),
            max_length,
        )
    return dataset


def _encode_fitted(
    fitter: PromptFitter,
    tally: FittingTally,
    row: Any,
    *,
    max_length: int,
    max_prompt_tokens: int | None,
    completion_only: bool,
) -> tuple[dict[str, Any], bool]:
    """One pair encoded with its prompt fitted to the tighter of the budgets."""
    system, user, output = str(row.system or ""), str(row.input), str(row.output)

    def encode(text: str, limit: int | None) -> dict[str, Any]:
        return encode_pair(
            fitter.tokenizer,
            system,
            text,
            output,
            max_length=limit,
            completion_only=completion_only,
            style=fitter.style,
        )

    whole = encode(user, None)
    budget = max_length - whole["completion_length"]
    if max_prompt_tokens is not None:
        budget = min(budget, max_prompt_tokens)
    fitted, _, report = fitter.fit(
        system, user, budget, whole["input_ids"][: whole["prompt_length"]]
    )
    tally.add(report, row.project_id)
    if not report.shortened:  # prompt within budget: the sequence fits max_length
        return whole, False
    return encode(fitted if report.fits else user, max_length), True

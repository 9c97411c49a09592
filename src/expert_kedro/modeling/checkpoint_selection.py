"""The callbacks that select the adapter a training run saves.

:func:`selection_callbacks` wires ``model_training.selection``
(:class:`~expert_kedro.modeling.selection.SelectionSettings`) into a run: the
ranking validation of a seeded sample of validation agendas
(:mod:`expert_kedro.modeling.ranking_validation`), when it ranks any, then
:class:`SelectionRecord` (which step transformers selected) and transformers'
``EarlyStoppingCallback`` when a patience is set. :func:`selection_summary` reads
the record back for the training history.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from transformers import EarlyStoppingCallback, TrainerCallback

from expert_kedro.modeling.distributed import distributed_env
from expert_kedro.modeling.ranking_validation import (
    ValidationRanking,
    ranking_callback,
    validation_sample,
)
from expert_kedro.modeling.selection import SelectionSettings
from expert_kedro.recommender.settings import RecommenderSettings

logger = logging.getLogger(__name__)


class SelectionRecord(TrainerCallback):
    """Records which checkpoint transformers selected (after it was loaded)."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.summary: dict[str, Any] = {"metric": metric}

    def on_train_end(self, args, state, control, **kwargs):
        """Keep the best step, its metric value and checkpoint."""
        self.summary.update(
            metric_key=args.metric_for_best_model,
            best_step=state.best_global_step,
            best_value=state.best_metric,
            best_checkpoint=state.best_model_checkpoint,
            last_step=state.global_step,
        )
        logger.info(
            "Selected the adapter of step %s by %s = %s (last step %d)",
            state.best_global_step,
            self.metric,
            state.best_metric,
            state.global_step,
        )


def checkpoint_callbacks(selection: SelectionSettings) -> list[TrainerCallback]:
    """The record of the selected step, and early stopping when asked (none for
    ``last``)."""
    if selection.metric_key is None:
        return []
    extra: list[TrainerCallback] = [SelectionRecord(selection.metric)]
    if selection.early_stopping_patience is not None:
        extra.append(EarlyStoppingCallback(selection.early_stopping_patience))
    return extra


def selection_summary(callbacks: list[TrainerCallback]) -> dict[str, Any]:
    """What was selected, for the training history (``{"metric": "last"}`` when
    the last step's adapter is kept)."""
    for callback in callbacks:
        if isinstance(callback, SelectionRecord):
            return dict(callback.summary)
    return {"metric": "last"}


def select_validation_ranking(
    data: ValidationRanking, selection: SelectionSettings, mode: str, seed: int
) -> ValidationRanking:
    """``data`` with the validation agendas ranked at each evaluation.

    Args:
        data: All validation projects, roster, retriever and training pairs.
        selection: ``model_training.selection``.
        mode: ``recommender.mode``; only the rerank design is ranked.
        seed: Seed of the sample.

    Returns:
        ``data`` whose projects are a seeded sample of ``selection.max_agendas``:
        none when the ranking is off, the mode is not rerank, or FSDP shards the
        model (it cannot be scored one process at a time).

    Raises:
        ValueError: If ``selection.metric`` is a ranking metric and nothing can
            be ranked.
    """
    why_not = (
        f"recommender.mode is {mode!r}, not rerank"
        if mode != "rerank"
        else "FSDP shards the model being trained"
        if distributed_env().fsdp
        else None
    )
    if why_not is None and selection.ranks:
        projects = validation_sample(data.projects, selection.max_agendas, seed)
        logger.info("Ranking validation: %d validation agendas", len(projects))
        return replace(data, projects=projects)
    if selection.metric not in ("last", "loss"):
        raise ValueError(
            f"model_training.selection.metric={selection.metric!r} ranks validation "
            f"agendas with the reranker being trained, but {why_not}: use metric "
            "loss or last."
        )
    if why_not is not None and selection.ranks:
        logger.warning("Ranking validation skipped: %s.", why_not)
    return replace(data, projects=data.projects.iloc[:0])


def selection_callbacks(  # noqa: PLR0913 - what ranks, and how
    selection: SelectionSettings,
    data: ValidationRanking,
    tokenizer: Any,
    recommender: RecommenderSettings,
    *,
    seed: int,
    prompt_style: str,
    packed_attention: bool,
) -> list[TrainerCallback]:
    """The ranking validation (when it has agendas), then the selection's own
    callbacks (record, early stopping), in the order transformers must call them:
    the ranking metrics exist before early stopping reads them.

    Args:
        selection: ``model_training.selection``.
        data: All validation projects, with the roster, retriever and training
            pairs (:func:`select_validation_ranking` chooses those ranked).
        tokenizer: The trained model's tokenizer.
        recommender: ``recommender`` settings.
        seed: Seed of the sample.
        prompt_style: ``model_training.tokenization.prompt_style``.
        packed_attention: Whether the model trains with the ``varlen`` attention.
    """
    data = select_validation_ranking(data, selection, recommender.mode, seed)
    if data.projects.empty:
        return checkpoint_callbacks(selection)
    ranking = ranking_callback(
        data,
        tokenizer,
        recommender,
        prompt_style=prompt_style,
        packed_attention=packed_attention,
    )
    return [ranking, *checkpoint_callbacks(selection)]

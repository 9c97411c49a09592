"""Which checkpoint's adapter a training run saves (``model_training.selection``).

transformers selects it: with ``load_best_model_at_end`` the Trainer compares each
evaluation's ``metric_for_best_model`` and, at the end, loads the best checkpoint
back into the model that the pipeline saves. :class:`SelectionSettings` turns the
parameters into those ``SFTConfig`` fields of the trainer recipe
(:meth:`SelectionSettings.training_params`); the ranking metrics it can select by
are added to the evaluation metrics by
:class:`~expert_kedro.modeling.ranking_validation.RankingValidationCallback`, and
:mod:`expert_kedro.modeling.checkpoint_selection` builds the callbacks (ranking,
record of the selected step, early stopping). This module imports nothing heavy:
the settings are a field of
:class:`~expert_kedro.modeling.settings.ModelTrainingSettings`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expert_kedro.modeling.trainer_recipe import TrainingSettings
from expert_kedro.settings_base import ParameterSettings

#: Prefix of every ranking metric in the evaluation metrics and the history.
PREFIX = "eval_rank_"
#: ``model_training.selection.metric`` -> the evaluation metric it maximises (or,
#: for ``loss``, minimises); ``last`` keeps the adapter of the last step.
SELECTION_METRICS = {
    "last": None,
    "loss": "eval_loss",
    "mrr": f"{PREFIX}mrr",
    "hit@1": f"{PREFIX}hit@1",
    "fused_mrr": f"{PREFIX}fused_mrr",
    "fused_hit@1": f"{PREFIX}fused_hit@1",
}


@dataclass(frozen=True)
class SelectionSettings(ParameterSettings):
    """Which checkpoint's adapter a training run saves (``model_training.selection``).

    Attributes:
        metric: ``last`` (the last step's adapter), ``loss`` (lowest validation
            loss), ``mrr`` / ``hit@1`` (best ranking of the validation agendas by
            the LLM score alone) or ``fused_mrr`` / ``fused_hit@1`` (fused with the
            retriever at the fallback weight). Only checkpoints are candidates, so
            a metric other than ``last`` needs ``save_steps == eval_steps``.
        max_agendas: Validation agendas ranked at each evaluation, a seeded sample
            (null: all; 0: no ranking validation, then metric is last or loss).
        early_stopping_patience: Stop after this many evaluations without a better
            ``metric`` (null: never; not with ``last``).
    """

    GROUP = "model_training.selection"

    metric: str = "last"
    max_agendas: int | None = 0
    early_stopping_patience: int | None = None

    @property
    def metric_key(self) -> str | None:
        """The evaluation metric compared between checkpoints (None: ``last``)."""
        return SELECTION_METRICS[self.metric]

    @property
    def ranks(self) -> bool:
        """Whether validation agendas are ranked at each evaluation."""
        return self.max_agendas != 0

    def validate(self) -> None:
        """Check the metric, the cap and the patience.

        Raises:
            ValueError: Naming the offending ``model_training.selection.*``.
        """
        self.check(
            "metric",
            self.metric in SELECTION_METRICS,
            f"must be one of {sorted(SELECTION_METRICS)}",
        )
        self.check(
            "max_agendas",
            self.max_agendas is None or self.max_agendas >= 0,
            "must be null (all) or >= 0",
        )
        self.check(
            "max_agendas",
            self.ranks or self.metric in ("last", "loss"),
            f"must not be 0 with metric {self.metric!r} (it ranks the agendas)",
        )
        patience = self.early_stopping_patience
        self.check(
            "early_stopping_patience",
            patience is None or (patience >= 1 and self.metric != "last"),
            "must be null, or >= 1 with a metric other than last",
        )

    def training_params(
        self, training: TrainingSettings | Mapping[str, Any], *, has_eval: bool
    ) -> TrainingSettings:
        """The trainer recipe with the selection's ``SFTConfig`` fields.

        Args:
            training: ``model_training.training`` (its ``eval_steps`` and
                ``save_steps`` are checked); a mapping is read with
                :class:`TrainingSettings`.
            has_eval: Whether the run has validation examples to evaluate.

        Returns:
            A copy of ``training`` whose ``sft_args`` also hold
            ``load_best_model_at_end``, ``metric_for_best_model`` and
            ``greater_is_better`` (``training`` itself for ``last``).

        Raises:
            ValueError: If there is nothing to evaluate, or checkpoints are not
                saved at every evaluation (the best one could not be restored).
        """
        training = TrainingSettings.coerce(training)
        if self.metric_key is None:
            return training
        if not has_eval:
            raise ValueError(
                f"model_training.selection.metric={self.metric!r} compares "
                "evaluations, but there are no validation examples: check "
                "validation_examples and max_validation_examples, or metric: last."
            )
        eval_steps, save_steps = training.eval_steps, training.save_steps
        if eval_steps != save_steps:
            raise ValueError(
                f"model_training.selection.metric={self.metric!r} restores the best "
                "checkpoint, so one must be saved at every evaluation: set "
                f"model_training.training.save_steps ({save_steps}) equal to "
                f"eval_steps ({eval_steps}), or metric: last."
            )
        sft_args = {
            **training.sft_args,
            "load_best_model_at_end": True,
            "metric_for_best_model": self.metric_key,
            "greater_is_better": self.metric != "loss",
        }
        return dataclasses.replace(training, sft_args=sft_args)

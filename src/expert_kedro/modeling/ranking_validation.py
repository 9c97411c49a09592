"""Ranking validation: the reranker ranks validation agendas during training.

The validation loss scores single ``yes``/``no`` tokens; the recommender needs an
acceptable expert first among an agenda's candidates. At every evaluation,
:class:`RankingValidationCallback` ranks the hybrid's top-``K`` candidates of a
seeded sample of validation agendas with the model being trained, through the
inference ranker (``recommender.service.build_ranker``: same prompts, same
``logit(yes) - logit(no)`` score, same fusion) and the report's metrics
(``evaluation.metrics``), and adds to the evaluation's metrics:

* ``eval_rank_hit@1``, ``eval_rank_mrr``: the LLM score alone (fusion weight 0);
* ``eval_rank_fused_hit@1``, ``eval_rank_fused_mrr``: fused with the retriever at
  the weight inference uses right after training (``recommender.retrieval_weight``,
  else ``fallback_retrieval_weight``);
* ``eval_rank_seconds``: the time the ranking took.

They are written into the metrics dict of ``Trainer.evaluate`` before transformers
compares checkpoints, so ``metric_for_best_model`` can name them
(:mod:`expert_kedro.modeling.selection`), and into the evaluation's entry of the
trainer's log, so they reach ``training_history`` next to ``eval_loss``.
:mod:`expert_kedro.modeling.checkpoint_selection` decides which agendas are ranked
and wires the callback into a run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from transformers import TrainerCallback

from expert_kedro.evaluation.metrics import per_project_metrics
from expert_kedro.identifiers import as_id, as_id_list, sort_by_ids
from expert_kedro.modeling.selection import PREFIX
from expert_kedro.recommender.adapters import scoring_layout
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.service import build_ranker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval.timeline import retriever_times
from expert_kedro.scoring.scorer import LLMScorer

logger = logging.getLogger(__name__)


def validation_sample(
    validation_projects: pd.DataFrame, max_agendas: int | None, seed: int
) -> pd.DataFrame:
    """The validation projects ranked at each evaluation: a seeded sample.

    Projects without an acceptable expert cannot score and are left out (counted).

    Args:
        validation_projects: ``project_id``, ``agenda``, ``acceptable_expert_ids``.
        max_agendas: Sample size (None: all).
        seed: ``model_training.seed``.

    Returns:
        ``project_id``, ``agenda``, ``acceptable_expert_ids``, sorted by id.
    """
    columns = ["project_id", "agenda", "acceptable_expert_ids"]
    missing = [c for c in columns if c not in validation_projects.columns]
    if missing:
        raise ValueError(
            f"validation_projects lacks column(s) {missing} needed to rank the "
            f"validation agendas; found {list(validation_projects.columns)}."
        )
    projects = sort_by_ids(validation_projects[columns], ["project_id"])
    scorable = projects["acceptable_expert_ids"].map(lambda ids: len(ids) > 0)
    if not scorable.all():
        logger.info(
            "Ranking validation: %d project(s) without an acceptable expert left out",
            int((~scorable).sum()),
        )
    projects = projects[scorable]
    if max_agendas is not None and len(projects) > max_agendas:
        projects = sort_by_ids(
            projects.sample(n=max_agendas, random_state=seed), ["project_id"]
        )
    return projects.reset_index(drop=True)


class RankingValidationCallback(TrainerCallback):
    """Ranks validation agendas with the model being trained at each evaluation.

    Args:
        ranker: A ``RerankRanker`` (``service.build_ranker``) whose scorer's model
            is replaced by the trained model at each evaluation.
        projects: From :func:`validation_sample`.
        fused_weight: Retriever weight of the fused metrics.
        agenda_batch: Agendas whose candidates share forward passes (None: all).
    """

    def __init__(
        self,
        ranker: Any,
        projects: pd.DataFrame,
        *,
        fused_weight: float,
        agenda_batch: int | None = None,
    ) -> None:
        if projects.empty:
            raise ValueError("Ranking validation needs at least one validation agenda.")
        self.ranker, self.fused_weight = ranker, fused_weight
        self.agenda_batch = agenda_batch
        self.agendas = [list(agenda) for agenda in projects["agenda"]]
        self.cases = [as_id(pid) for pid in projects["project_id"]]
        self.times = retriever_times(ranker.retriever, projects)
        self.acceptable = [as_id_list(ids) for ids in projects["acceptable_expert_ids"]]

    def rank_metrics(self, model: Any) -> dict[str, float]:
        """hit@1 and MRR of the LLM score alone and fused, for ``model`` as it is.

        The model is put in eval mode (no dropout) and scored without gradients,
        then put back in the mode it was in.
        """
        started = time.perf_counter()
        training = model.training
        model.eval()
        self.ranker.scorer.model = model
        try:
            scored = self.ranker.score_candidates(
                self.agendas,
                self.cases,
                times=self.times,
                agenda_batch=self.agenda_batch,
            )
        finally:
            model.train(training)
        metrics: dict[str, float] = {}
        for name, weight in (("", 0.0), ("fused_", self.fused_weight)):
            ranked = self.ranker.with_weight(weight).rank_scored(scored)
            means = per_project_metrics([ids for ids, _ in ranked], self.acceptable)
            for metric in ("hit@1", "mrr"):
                metrics[f"{PREFIX}{name}{metric}"] = float(means[metric].mean())
        metrics[f"{PREFIX}seconds"] = round(time.perf_counter() - started, 3)
        return metrics

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        """Add the ranking metrics to this evaluation's metrics and log entry."""
        if metrics is None or model is None:
            return
        ranking = self.rank_metrics(model)
        # In the dict Trainer.evaluate returns: what best-checkpoint selection and
        # early stopping read.
        metrics.update(ranking)
        # The evaluation was logged before this event: complete its entry.
        for entry in reversed(state.log_history):
            if entry.get("step") == state.global_step and "eval_loss" in entry:
                entry.update(ranking)
                break
        logger.info(
            "step %d validation ranking of %d agendas: hit@1 %.3f, MRR %.3f "
            "(fused at %.2f: hit@1 %.3f, MRR %.3f) in %.1f s",
            state.global_step,
            len(self.agendas),
            ranking[f"{PREFIX}hit@1"],
            ranking[f"{PREFIX}mrr"],
            self.fused_weight,
            ranking[f"{PREFIX}fused_hit@1"],
            ranking[f"{PREFIX}fused_mrr"],
            ranking[f"{PREFIX}seconds"],
        )


@dataclass(frozen=True)
class ValidationRanking:
    """What the reranker ranks at each evaluation: everything but the model.

    Attributes:
        projects: From :func:`validation_sample`; empty: no ranking validation.
        expert_roster: The roster the candidates come from.
        retriever: The ``retrieval_index`` proposing the candidates.
        train_pairs: Training pairs (candidates' past questions in the prompts).
    """

    projects: pd.DataFrame
    expert_roster: pd.DataFrame
    retriever: Any
    train_pairs: pd.DataFrame


def ranking_callback(
    data: ValidationRanking,
    tokenizer: Any,
    recommender: RecommenderSettings,
    *,
    prompt_style: str,
    packed_attention: bool,
) -> RankingValidationCallback:
    """The callback ranking ``data.projects`` with the inference ranker.

    Args:
        data: The validation agendas, roster, retriever and training pairs.
        tokenizer: The trained model's tokenizer.
        recommender: ``recommender`` settings (candidates, prompt layout, batch
            sizes, fusion weight).
        prompt_style: ``model_training.tokenization.prompt_style``.
        packed_attention: Whether the model trains with the ``varlen`` attention;
            only then are prompts scored in packed rows (which switch the model to
            it), so ranking never changes the attention the model trains with.
    """
    share_prefix, packing = scoring_layout(recommender)
    scorer = LLMScorer(
        model=None,  # the trained model, set at each evaluation
        tokenizer=tokenizer,
        prompt_style=prompt_style,
        max_prompt_tokens=recommender.max_prompt_tokens,
        batch_size=recommender.batch_size,
        share_prefix=share_prefix,
        packing=packing and packed_attention,
    )
    ranker = build_ranker(
        recommender,
        scorer,
        Roster(data.expert_roster),
        retriever=data.retriever,
        train_pairs=data.train_pairs,
    )
    return RankingValidationCallback(
        ranker,
        data.projects,
        fused_weight=ranker.retrieval_weight,
        agenda_batch=recommender.agenda_batch,
    )

"""LLM recommender systems in the evaluation (extra nodes beside the baselines).

The ``evaluation_llm`` nodes load a model once and rank the validation and test
projects (full and partial agendas) with the ranker the inference pipeline builds
(``recommender.service.build_ranker``), through the ranker's own API:

* ``rerank`` (systems ``llm_rerank``, ``zero_shot_rerank``): each project's hybrid
  top-K candidates are scored once (``RerankRanker.score_candidates``), the fusion
  weight is tuned on the VALIDATION projects (``RerankRanker.tune_weight``) and every
  split is ranked at that weight (``with_weight(w).rank_scored``), exactly as
  inference ranks an agenda at the weight it was given;
* ``generative`` (systems ``llm_generative``, ``zero_shot_generative``): every roster
  expert's first line scored by log-probability; a free-generation diagnostic counts
  hallucinated experts on the validation agendas.

Rankings cover the whole roster (reranked candidates first), so MRR is exact.
Prompts over ``recommender.max_prompt_tokens`` are fitted by the training length
policy; the report's ``prompt_fitting`` block counts them per ``split/variant`` and
one log line per system sums them up. A project whose prompt cannot fit at all is
still ranked (by the retriever alone, or in roster order in the generative design)
and named among the fallback cases: one long agenda never stops the evaluation.
``recommender.max_eval_projects`` caps the projects per split on slow machines
(set ``evaluation.unranked_projects: skip`` with it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from expert_kedro.evaluation.rankings import RANKING_COLUMNS, rankings_table
from expert_kedro.identifiers import as_id, as_id_list, sort_by_ids
from expert_kedro.recommender.fusion import ScoredCandidates
from expert_kedro.recommender.generative import (
    GenerativeRanker,
    free_generation_diagnostic,
)
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval.timeline import retriever_times

logger = logging.getLogger(__name__)

ProjectSets = Mapping[tuple[str, str], pd.DataFrame]


def _cap(projects: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    frame = sort_by_ids(projects, ["project_id"])
    return frame if limit is None else frame.head(int(limit))


def project_sets(
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    limit: int | None,
) -> dict[tuple[str, str], pd.DataFrame]:
    """The held-out projects an LLM system ranks, per ``(split, variant)``.

    Args:
        validation_projects: Validation projects (tune the fusion weight).
        test_projects: Test projects, full agendas.
        partial_test_projects: Test projects, partial agendas.
        limit: ``recommender.max_eval_projects``: the first projects by id per set
            (None: all).
    """
    return {
        ("validation", "full"): _cap(validation_projects, limit),
        ("test", "full"): _cap(test_projects, limit),
        ("test", "partial"): _cap(partial_test_projects, limit),
    }


def _ranked_table(
    system: str,
    split: str,
    variant: str,
    projects: pd.DataFrame,
    ranked: Sequence[tuple[list[str], list[float]]],
) -> pd.DataFrame:
    """The rankings rows of one set from a ranker's ``(ids, scores)`` per project."""
    return rankings_table(
        system,
        split,
        variant,
        projects["project_id"].tolist(),
        [ids for ids, _ in ranked],
        [scores for _, scores in ranked],
    )


def with_candidate_scores(
    rankings: pd.DataFrame,
    project_ids: Sequence[Any],
    scored: Sequence[ScoredCandidates],
) -> pd.DataFrame:
    """The rankings plus the two signals the fusion combined for each project's ``K``
    candidates, ``retrieval_score`` and ``llm_score`` (NaN for the rest of the
    roster), so that another fusion can be studied offline from the saved rankings.
    """
    if not scored:  # an empty set (e.g. no partial agendas): the columns only
        return rankings.assign(retrieval_score=float("nan"), llm_score=float("nan"))
    signals = pd.concat(
        [
            item.table().assign(project_id=as_id(pid))
            for pid, item in zip(project_ids, scored, strict=True)
        ],
        ignore_index=True,
    )
    return rankings.merge(
        signals, on=["project_id", "expert_id"], how="left", validate="one_to_one"
    )


def rank_rerank_system(
    ranker: RerankRanker, settings: RecommenderSettings, sets: ProjectSets
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score every set's candidates once, tune the weight on validation, rank all.

    Returns:
        The rankings (whole roster per project) and the tuning report
        (``tuned_retrieval_weight``, the grid of validation metrics).
    """
    scored, fitting = {}, {}
    for key, projects in sets.items():
        ranker.scorer.fitting.reset()
        scored[key] = ranker.score_candidates(
            [list(agenda) for agenda in projects["agenda"]],
            [as_id(pid) for pid in projects["project_id"]],
            times=retriever_times(ranker.retriever, projects),
            agenda_batch=settings.agenda_batch,
        )
        fitting["/".join(key)] = ranker.scorer.fitting.summary()
    validation = sets[("validation", "full")]
    weight, grid = ranker.tune_weight(
        scored[("validation", "full")],
        [as_id_list(ids) for ids in validation["acceptable_expert_ids"]],
        list(settings.weight_grid),
        metric=settings.tuning_metric,
    )
    tuned = ranker.with_weight(weight)
    frames = []
    for (split, variant), projects in sets.items():
        ranked = tuned.rank_scored(scored[(split, variant)])
        table = _ranked_table(tuned.name, split, variant, projects, ranked)
        frames.append(
            with_candidate_scores(
                table, projects["project_id"].tolist(), scored[(split, variant)]
            )
        )
    report = {
        "system": tuned.name,
        "candidates": settings.candidates,
        "tuned_retrieval_weight": weight,
        "tuning_metric": settings.tuning_metric,
        "configured_retrieval_weight": settings.retrieval_weight,
        "n_validation_projects": len(validation),
        "grid": grid.round(6).to_dict("records"),
        "prompt_fitting": fitting,
    }
    return pd.concat(frames, ignore_index=True), report


def rank_generative_system(
    ranker: GenerativeRanker, sets: ProjectSets, system: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank every set's projects over the whole roster; count free-generation slips.

    Returns:
        The rankings and a report with the hallucination counts on validation.
    """
    frames, fitting = [], {}
    n_experts = len(ranker.roster)
    for (split, variant), projects in sets.items():
        ranker.scorer.fitting.reset()
        ranked = ranker.rank_many_with_scores(
            [list(agenda) for agenda in projects["agenda"]],
            n_experts,
            [as_id(pid) for pid in projects["project_id"]],
        )
        fitting[f"{split}/{variant}"] = ranker.scorer.fitting.summary()
        frames.append(_ranked_table(ranker.name, split, variant, projects, ranked))
    _, summary = free_generation_diagnostic(
        ranker.scorer,
        ranker.roster,
        system,
        [list(a) for a in sets[("validation", "full")]["agenda"]],
    )
    rankings = pd.concat(frames, ignore_index=True)
    return rankings, {
        "system": ranker.name,
        "free_generation_validation": summary,
        "prompt_fitting": fitting,
    }


def _log_fitting(system: str, fitting: Mapping[str, Mapping[str, Any]]) -> None:
    """One line per system: shortened prompts and fallback cases of every set."""
    sets = {
        key: f"{s['prompts_shortened']}/{s['prompts']} prompts, "
        f"{s['cases_shortened']} cases shortened, {s['fallback_cases']} fallback"
        for key, s in fitting.items()
    }
    fallbacks = sum(s["fallback_cases"] for s in fitting.values())
    logger.log(
        logging.WARNING if fallbacks else logging.INFO,
        "%s prompt fitting (budget %s tokens, policy %s): %s.",
        system,
        next(iter(fitting.values()), {}).get("max_prompt_tokens"),
        next(iter(fitting.values()), {}).get("policy"),
        "; ".join(f"{key}: {text}" for key, text in sets.items()) or "no prompts",
    )


def rank_system(
    ranker: RerankRanker | GenerativeRanker,
    settings: RecommenderSettings,
    sets: ProjectSets,
    system: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rankings and report of one LLM system (rerank or generative design).

    Args:
        ranker: From ``service.build_ranker``.
        settings: The ``recommender`` settings of the design.
        sets: From :func:`project_sets`.
        system: System prompt of the generative pairs.
    """
    if isinstance(ranker, RerankRanker):
        rankings, report = rank_rerank_system(ranker, settings, sets)
    else:
        rankings, report = rank_generative_system(ranker, sets, system)
    report["max_eval_projects"] = settings.max_eval_projects
    _log_fitting(report["system"], report["prompt_fitting"])
    if rankings.empty:
        rankings = pd.DataFrame(columns=list(RANKING_COLUMNS))
    logger.info(
        "%s ranked %d projects (cap %s).",
        report["system"],
        rankings.groupby(["split", "variant"])["project_id"].nunique().sum(),
        settings.max_eval_projects,
    )
    return rankings, report

"""LLM recommender systems in the evaluation (extra nodes beside the baselines).

``rank_llm_projects`` loads the fine-tuned adapter once and ranks the validation and
test projects (full and partial agendas) with the recommender of
``recommender.mode``:

* ``rerank`` (system ``llm_rerank``): hybrid top-K candidates scored by the LLM; the
  fusion weight is tuned on the VALIDATION projects (``llm_rerank_tuning`` reports
  the grid and the LLM-only scores) and then applied to the test projects;
* ``generative`` (system ``llm_generative``): every roster expert's first line scored
  by log-probability; a free-generation diagnostic counts hallucinated experts on
  the validation agendas.

Rankings cover the whole roster (reranked candidates first), so MRR is exact.
``recommender.max_eval_projects`` caps the projects per split on slow machines
(set ``evaluation.unranked_projects: skip`` with it).

Wire with ``evaluation.create_pipeline(extra_rankings=["llm_rankings"]) +
llm_systems.create_pipeline()``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from expert_kedro.evaluation.rankings import RANKING_COLUMNS
from expert_kedro.identifiers import as_id, as_id_list, sort_by_ids
from expert_kedro.recommender.generative import free_generation_diagnostic
from expert_kedro.recommender.rerank import (
    RerankRanker,
    fuse,
    order_with_tail,
    tune_retrieval_weight,
)
from expert_kedro.recommender.settings import RecommenderSettings

logger = logging.getLogger(__name__)


def _cap(projects: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    frame = sort_by_ids(projects, ["project_id"])
    return frame if limit is None else frame.head(int(limit))


def _rows(  # noqa: PLR0917 - one rankings block
    system: str, split: str, variant: str, project_id: str, ids: Any, scores: Any
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "system": system,
            "split": split,
            "variant": variant,
            "project_id": as_id(project_id),
            "rank": np.arange(1, len(ids) + 1),
            "expert_id": np.asarray(as_id_list(list(ids)), dtype=object),
            "score": np.asarray(scores, dtype=float),
        },
        columns=list(RANKING_COLUMNS),
    )


def rerank_candidate_tables(
    ranker: RerankRanker, projects: pd.DataFrame, agenda_batch: int
) -> list[tuple[pd.DataFrame, list[str]]]:
    """Per project, the rerank candidates' retrieval and LLM scores and the tail.

    Args:
        ranker: The rerank system.
        projects: Projects with ``project_id`` and ``agenda``.
        agenda_batch: Projects whose candidates share forward passes.

    Returns:
        :meth:`RerankRanker.candidate_tables` output, in project order.
    """
    pairs = list(projects[["project_id", "agenda"]].itertuples(index=False))
    tables = []
    for start in range(0, len(pairs), agenda_batch):
        chunk = pairs[start : start + agenda_batch]
        tables += ranker.candidate_tables(
            [list(agenda) for _, agenda in chunk], [as_id(pid) for pid, _ in chunk]
        )
    return tables


def _rerank_rankings(
    ranker: RerankRanker,
    settings: RecommenderSettings,
    sets: Mapping[tuple[str, str], pd.DataFrame],
) -> tuple[list[pd.DataFrame], dict[str, Any]]:
    validation = sets[("validation", "full")]
    tables = rerank_candidate_tables(ranker, validation, settings.agenda_batch)
    acceptable = [as_id_list(a) for a in validation["acceptable_expert_ids"]]
    weight, grid = tune_retrieval_weight(
        [t for t, _ in tables],
        [tail for _, tail in tables],
        acceptable,
        list(settings.weight_grid),
    )
    ranker.retrieval_weight = weight
    report = {
        "system": ranker.name,
        "candidates": settings.candidates,
        "tuned_retrieval_weight": weight,
        "configured_retrieval_weight": settings.retrieval_weight,
        "n_validation_projects": len(validation),
        "grid": grid.round(6).to_dict("records"),
    }
    frames = []
    for (split, variant), projects in sets.items():
        cached = tables if (split, variant) == ("validation", "full") else None
        pairs = cached or rerank_candidate_tables(
            ranker, projects, settings.agenda_batch
        )
        for pid, (table, tail) in zip(projects["project_id"], pairs, strict=True):
            fused = fuse(
                table["retrieval_score"].to_numpy(),
                table["llm_score"].to_numpy(),
                weight,
            )
            ids, scores = order_with_tail(table["expert_id"].tolist(), fused, tail)
            frames.append(_rows(ranker.name, split, variant, pid, ids, scores))
    return frames, report


def _project_sets(
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    settings: RecommenderSettings,
) -> dict[tuple[str, str], pd.DataFrame]:
    limit = settings.max_eval_projects
    return {
        ("validation", "full"): _cap(validation_projects, limit),
        ("test", "full"): _cap(test_projects, limit),
        ("test", "partial"): _cap(partial_test_projects, limit),
    }


def _rank_system(
    ranker: Any,
    settings: RecommenderSettings,
    sets: Mapping[tuple[str, str], pd.DataFrame],
    system: str,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    limit, roster, scorer = settings.max_eval_projects, ranker.roster, ranker.scorer
    if isinstance(ranker, RerankRanker):
        frames, report = _rerank_rankings(ranker, settings, sets)
    else:
        frames = []
        for (split, variant), projects in sets.items():
            for pid, agenda in projects[["project_id", "agenda"]].itertuples(
                index=False
            ):
                ids, scores = ranker.rank_with_scores(list(agenda), len(roster), pid)
                frames.append(_rows(ranker.name, split, variant, pid, ids, scores))
        _, summary = free_generation_diagnostic(
            scorer,
            roster,
            system,
            [list(a) for a in sets[("validation", "full")]["agenda"]],
        )
        report = {"system": ranker.name, "free_generation_validation": summary}
    report["max_eval_projects"] = limit
    rankings = pd.concat(frames, ignore_index=True)
    logger.info(
        "%s ranked %d projects (cap %s).",
        report["system"],
        rankings.groupby(["split", "variant"])["project_id"].nunique().sum(),
        limit,
    )
    return rankings, report

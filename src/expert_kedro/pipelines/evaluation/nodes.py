"""Nodes of the evaluation pipeline: check the saved retrieval index for held-out
projects, rank VALIDATION and TEST projects (full and partial agendas) with its
retrievers, compute metrics with bootstrap CIs.

Extra systems (e.g. LLM recommenders) plug in by producing a rankings table (see
``rankings.py``) that ``compute_evaluation_metrics`` receives as an extra positional
input; see ``pipeline.create_pipeline(extra_rankings=...)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from expert_kedro.evaluation.baselines import rank_and_time_baselines
from expert_kedro.evaluation.rankings import (
    RANKING_COLUMNS,
    validate_rankings,
)
from expert_kedro.evaluation.report import (
    evaluable_targets,
    machine_description,
    score_systems,
    split_sizes,
)
from expert_kedro.evaluation.reporting import (
    compact_table,
    plot_comparison,
    render_results_table,
)
from expert_kedro.evaluation.settings import (
    CandidateSettings,
    EvaluationSettings,
    PartialAgendaSettings,
)
from expert_kedro.identifiers import as_id_list, id_seed
from expert_kedro.retrieval import PRIOR_SYSTEM, RetrievalIndex, check_no_leakage
from expert_kedro.training_data.partial_agendas import make_partial_agendas

logger = logging.getLogger(__name__)


def build_partial_test_projects(
    test_projects: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """One partial (3-4 question) agenda per test project, like a terse client brief.

    Reuses the augmentation's seeded ``make_partial_agendas`` (seeded per project by
    ``[seed, project_id]``), so the variants do not depend on the other projects.

    Args:
        test_projects: Test projects (``project_id``, ``agenda``,
            ``acceptable_expert_ids``).
        params: The ``evaluation.partial_agendas`` parameters (``seed``,
            ``sizes``, ``min_questions``).

    Returns:
        Test projects whose ``agenda`` is the partial agenda, plus
        ``n_full_questions``; projects too short for a partial agenda are left out
        (their count is logged).
    """
    settings = PartialAgendaSettings.from_params(params)
    rows = []
    for row in test_projects.to_dict("records"):
        questions = [str(question) for question in row["agenda"]]
        variants = make_partial_agendas(
            questions,
            sizes=settings.sizes,
            n_variants=1,
            seed=[settings.seed, id_seed(row["project_id"])],
            min_questions=settings.min_questions,
        )
        if variants:
            rows.append(
                {**row, "agenda": variants[0], "n_full_questions": len(questions)}
            )
    skipped = len(test_projects) - len(rows)
    logger.info(
        "Built %d partial test agendas; %d project(s) have too few questions for one.",
        len(rows),
        skipped,
    )
    return pd.DataFrame(rows, columns=[*test_projects.columns, "n_full_questions"])


def check_retrieval_index(
    retrieval_index: RetrievalIndex,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
) -> tuple[RetrievalIndex, dict[str, Any]]:
    """Prove the saved retrieval index holds no held-out project, before any ranking.

    The index records the training projects and the digests of the agendas it
    indexed; a validation or test project (or a partial test agenda) found among
    them would let every system see the answer.

    Args:
        retrieval_index: The candidate retriever built by the retrieval pipeline.
        validation_projects: Held-out projects used for tuning.
        test_projects: Held-out projects used for the report.
        partial_test_projects: Partial-agenda variants of the test projects.

    Returns:
        The same index (``checked_retrieval_index``, what the systems rank with) and
        its fusion tuning record (``hybrid_tuning``, reported with the metrics).

    Raises:
        IndexLeakageError: If a held-out project (by id or identical agenda) is
            indexed.
    """
    check_no_leakage(
        retrieval_index,
        {
            "validation": validation_projects,
            "test": test_projects,
            "test_partial": partial_test_projects,
        },
    )
    tuning = {
        **retrieval_index.tuning,
        "index_fingerprint": retrieval_index.fingerprint,
        "index_built_at": retrieval_index.built_at,
    }
    return retrieval_index, tuning


def rank_baseline_projects(
    checked_retrieval_index: RetrievalIndex,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Rank roster experts for validation, test and partial-test agendas.

    The baselines are the index's own retrievers (popularity, BM25, dense and the
    tuned hybrid), fit once on the TRAIN split by the retrieval pipeline.

    Args:
        checked_retrieval_index: The leak-checked retrieval index.
        validation_projects: Validation projects (full agendas).
        test_projects: Test projects (full agendas).
        partial_test_projects: Test projects with a 3-4 question agenda.
        params: The ``evaluation`` parameter group (``ranking_depth``).

    Returns:
        ``(rankings, timings)``: the rankings table of the four retrievers and, per
        system, fit seconds (recorded when the index was built) and scoring seconds
        (all agendas of all variants).
    """
    jobs = [
        ("validation", "full", validation_projects),
        ("test", "full", test_projects),
        ("test", "partial", partial_test_projects),
    ]
    return rank_and_time_baselines(
        checked_retrieval_index,
        jobs,
        EvaluationSettings.from_params(params).ranking_depth,
    )


def build_hybrid_candidates(
    baseline_rankings: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Hybrid top-K roster experts of every held-out agenda (input of an LLM reranker).

    Taken from the ``hybrid+prior`` rows of ``baseline_rankings`` (the index's
    candidate stage: the hybrid with the activity prior at its tuned weight), so the
    candidates are exactly a ranking that is evaluated.

    Args:
        baseline_rankings: Rankings of the retrieval baselines.
        params: The ``evaluation.candidates`` parameters (``k``).

    Returns:
        Rankings-shaped table (``system`` = ``"hybrid+prior"``) with ``k`` distinct
        roster experts per project, split and variant; every roster expert when the
        roster is smaller than ``k`` (logged: a small site's roster can be).

    Raises:
        ValueError: If ``evaluation.ranking_depth`` cut the hybrid rankings to
            fewer than ``k`` experts per project.
    """
    k = CandidateSettings.from_params(params).k
    hybrid = baseline_rankings[baseline_rankings["system"] == PRIOR_SYSTEM]
    depth = hybrid.groupby(["split", "variant", "project_id"])["rank"].max()
    shallowest = 0 if hybrid.empty else int(depth.min())
    if shallowest < k and shallowest == hybrid["expert_id"].nunique() > 0:
        logger.warning(
            "evaluation.candidates.k=%d exceeds the roster (%d experts): the "
            "candidates are the whole roster.",
            k,
            shallowest,
        )
        k = shallowest
    if shallowest < k:
        raise ValueError(
            f"evaluation.candidates.k={k} exceeds the depth of the hybrid rankings "
            f"({shallowest}); raise evaluation.ranking_depth or lower "
            "evaluation.candidates.k."
        )
    return hybrid[hybrid["rank"] <= k].reset_index(drop=True)


def compute_evaluation_metrics(  # noqa: PLR0913, PLR0917 - catalog inputs
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    hybrid_tuning: Mapping[str, Any],
    retrieval_timings: Mapping[str, Any],
    params: Mapping[str, Any],
    *system_rankings: pd.DataFrame,
) -> dict[str, Any]:
    """Metrics of every system x agenda variant with 95% bootstrap CIs.

    ``random`` is reported analytically (exact expectation of a uniform ranking of
    the roster per project). Every other system comes from a rankings table; extra
    systems (LLM recommenders) arrive as extra positional rankings tables.

    Args:
        expert_roster: The roster (its ids bound what a system may return).
        train_pairs: Training pairs (for the split sizes).
        validation_projects: Validation projects with acceptable experts.
        test_projects: Test projects with acceptable experts.
        partial_test_projects: Partial-agenda variants (same acceptable experts).
        hybrid_tuning: Record of the fusion-weight tuning.
        retrieval_timings: Fit/scoring seconds per baseline system.
        params: The ``evaluation`` parameter group (``seed``, ``bootstrap``).
        *system_rankings: Rankings tables (``rankings.RANKING_COLUMNS``).

    Returns:
        The ``evaluation_metrics`` report: ``systems`` (test split) and
        ``validation`` sections ``{system: {variant: {metric: {value, ci_low,
        ci_high}}}}`` plus sizes, tuning, timings, date and machine.
    """
    settings = EvaluationSettings.from_params(params)
    boot = {
        "n_boot": settings.bootstrap.n_boot,
        "seed": settings.seed,
        "confidence": settings.bootstrap.confidence,
    }
    roster_ids = as_id_list(expert_roster["expert_id"])
    rankings = (
        pd.concat(system_rankings, ignore_index=True)
        if system_rankings
        else pd.DataFrame(columns=list(RANKING_COLUMNS))
    )
    validate_rankings(rankings, roster_ids)
    targets = evaluable_targets(
        {
            ("validation", "full"): validation_projects,
            ("test", "full"): test_projects,
            ("test", "partial"): partial_test_projects,
        },
        settings,
    )
    sections, missing = score_systems(
        rankings,
        targets,
        len(roster_ids),
        boot,
        settings.unranked_projects,
        recall_at=settings.recall_at,
    )
    return {
        "systems": sections["test"],
        "validation": sections["validation"],
        **split_sizes(
            train_pairs, validation_projects, test_projects, partial_test_projects
        ),
        "roster_size": len(roster_ids),
        "unranked_projects": missing,
        "unranked_policy": settings.unranked_projects,
        "hybrid": dict(hybrid_tuning),
        "timing_seconds": dict(retrieval_timings),
        "bootstrap": {**boot, "unit": "project", "method": "percentile"},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(),
    }


def plot_evaluation_comparison(evaluation_metrics: Mapping[str, Any]) -> Figure:
    """Comparison plot of all systems (full vs partial agendas) with 95% CIs."""
    return plot_comparison(evaluation_metrics)


def render_evaluation_table(evaluation_metrics: Mapping[str, Any]) -> str:
    """Markdown results table (README) and a compact table in the run log."""
    logger.info("Evaluation on the test split:\n%s", compact_table(evaluation_metrics))
    return render_results_table(evaluation_metrics)

"""Nodes of the evaluation pipeline: fit retrievers on TRAIN, tune on VALIDATION,
rank TEST projects (full and partial agendas), compute metrics with bootstrap CIs.

Extra systems (e.g. LLM recommenders) plug in by producing a rankings table (see
``rankings.py``) that ``compute_evaluation_metrics`` receives as an extra positional
input; see ``pipeline.create_pipeline(extra_rankings=...)``.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from expert_kedro.evaluation.metrics import (
    METRIC_NAMES,
    bootstrap_summary,
    expected_random_metrics,
    per_project_metrics,
)
from expert_kedro.evaluation.rankings import (
    RANKING_COLUMNS,
    rank_with_retriever,
    ranked_lists,
    validate_rankings,
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
from expert_kedro.identifiers import as_id_list, id_seed, sorted_ids
from expert_kedro.retrieval import (
    BM25Retriever,
    DenseRetriever,
    ExpertDocuments,
    HybridRetriever,
    PopularityRetriever,
    build_expert_documents,
    check_no_leakage,
)
from expert_kedro.retrieval.factory import (
    fit_bm25,
    fit_dense,
    fit_popularity,
    tune_hybrid,
)
from expert_kedro.training_data.partial_agendas import make_partial_agendas

logger = logging.getLogger(__name__)

RANDOM_SYSTEM = "random"


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


def build_index_documents(  # noqa: PLR0917 - one input per catalog dataset
    expert_roster: pd.DataFrame,
    train_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    params: Mapping[str, Any],
) -> ExpertDocuments:
    """Build the per-expert index texts from TRAIN pairs and prove nothing leaks.

    Args:
        expert_roster: The roster; the only experts any system can return.
        train_pairs: Training (project, expert) pairs: the only agendas indexed.
        clean_matches: All matches with answers; only train pairs' answers are used,
            and only when ``index.include_answers`` is true.
        validation_projects: Held-out projects used for tuning.
        test_projects: Held-out projects used for the report.
        partial_test_projects: Partial-agenda variants of the test projects.
        params: The ``evaluation`` parameter group.

    Returns:
        Leak-checked expert documents.

    Raises:
        IndexLeakageError: If a validation/test project (full or partial agenda) is
            part of the index.
    """
    include_answers = bool(params.get("index", {}).get("include_answers", False))
    documents = build_expert_documents(
        expert_roster, train_pairs, clean_matches if include_answers else None
    )
    check_no_leakage(
        documents,
        {
            "validation": validation_projects,
            "test": test_projects,
            "test_partial": partial_test_projects,
        },
    )
    return documents


def fit_bm25_retriever(
    documents: ExpertDocuments, params: Mapping[str, Any]
) -> BM25Retriever:
    """Fit BM25 over profile + skills + training agendas (``bm25`` parameters)."""
    return fit_bm25(documents, params)


def fit_dense_retriever(
    documents: ExpertDocuments, params: Mapping[str, Any]
) -> DenseRetriever:
    """Fit the MiniLM dense retriever (``dense`` parameters)."""
    return fit_dense(documents, params)


def fit_popularity_retriever(documents: ExpertDocuments) -> PopularityRetriever:
    """Fit the training-frequency baseline."""
    return fit_popularity(documents)


def tune_hybrid_retriever(
    bm25_retriever: BM25Retriever,
    dense_retriever: DenseRetriever,
    validation_projects: pd.DataFrame,
    params: Mapping[str, Any],
) -> tuple[HybridRetriever, dict[str, Any]]:
    """Fuse BM25 and dense, choosing the fusion weight on VALIDATION projects only.

    Returns:
        The hybrid retriever and a record of the tuning (weight, grid metrics).
    """
    return tune_hybrid(bm25_retriever, dense_retriever, validation_projects, params)


def rank_baseline_projects(  # noqa: PLR0917 - one input per catalog dataset
    popularity_retriever: PopularityRetriever,
    bm25_retriever: BM25Retriever,
    dense_retriever: DenseRetriever,
    hybrid_retriever: HybridRetriever,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Rank roster experts for validation, test and partial-test agendas.

    Args:
        popularity_retriever: Training-frequency baseline.
        bm25_retriever: Lexical retriever.
        dense_retriever: Dense retriever.
        hybrid_retriever: Fused retriever.
        validation_projects: Validation projects (full agendas).
        test_projects: Test projects (full agendas).
        partial_test_projects: Test projects with a 3-4 question agenda.
        params: The ``evaluation`` parameter group (``ranking_depth``).

    Returns:
        ``(rankings, timings)``: the rankings table of the four retrievers and, per
        system, fit seconds and scoring seconds (all agendas of all variants).
    """
    depth = EvaluationSettings.from_params(params).ranking_depth
    jobs = [
        ("validation", "full", validation_projects),
        ("test", "full", test_projects),
        ("test", "partial", partial_test_projects),
    ]
    frames: list[pd.DataFrame] = []
    timings: dict[str, dict[str, float]] = {}
    encoder = dense_retriever.encoder
    texts_before, seconds_before = encoder.texts_encoded, encoder.encode_seconds
    for retriever in (
        popularity_retriever,
        bm25_retriever,
        dense_retriever,
        hybrid_retriever,
    ):
        start = time.perf_counter()
        for split, variant, projects in jobs:
            frames.append(
                rank_with_retriever(
                    retriever, projects, split=split, variant=variant, depth=depth
                )
            )
        n_agendas = sum(len(projects) for _, _, projects in jobs)
        timings[retriever.name] = {
            "fit_seconds": round(float(getattr(retriever, "fit_seconds", 0.0)), 3),
            "score_seconds": round(time.perf_counter() - start, 3),
            "n_agendas_scored": n_agendas,
        }
    # Agenda embeddings are cached: hybrid reuses dense's, and validation agendas were
    # embedded while tuning. The encoder's own throughput gives the cold cost.
    texts = encoder.texts_encoded - texts_before
    seconds = encoder.encode_seconds - seconds_before
    timings["dense_query_encoding"] = {
        "texts": texts,
        "seconds": round(seconds, 3),
        "texts_per_second": round(texts / seconds, 1) if seconds > 0 else None,
    }
    return pd.concat(frames, ignore_index=True), timings


def build_hybrid_candidates(
    baseline_rankings: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Hybrid top-K roster experts of every held-out agenda (input of an LLM reranker).

    Taken from the hybrid rows of ``baseline_rankings``, so the candidates are exactly
    the hybrid ranking that is evaluated.

    Args:
        baseline_rankings: Rankings of the retrieval baselines.
        params: The ``evaluation.candidates`` parameters (``k``).

    Returns:
        Rankings-shaped table (``system`` = ``"hybrid"``) with exactly ``k`` distinct
        roster experts per project, split and variant.

    Raises:
        ValueError: If the hybrid rankings hold fewer than ``k`` experts per project.
    """
    k = CandidateSettings.from_params(params).k
    hybrid = baseline_rankings[baseline_rankings["system"] == "hybrid"]
    depth = hybrid.groupby(["split", "variant", "project_id"])["rank"].max()
    if hybrid.empty or int(depth.min()) < k:
        raise ValueError(
            f"evaluation.candidates.k={k} exceeds the depth of the hybrid rankings "
            f"({0 if hybrid.empty else int(depth.min())}); raise "
            "evaluation.ranking_depth or lower evaluation.candidates.k."
        )
    return hybrid[hybrid["rank"] <= k].reset_index(drop=True)


def _acceptable(projects: pd.DataFrame) -> list[list[str]]:
    return [as_id_list(ids) for ids in projects["acceptable_expert_ids"]]


def _random_section(
    projects: pd.DataFrame, n_experts: int, boot: Mapping[str, Any]
) -> dict[str, dict[str, float]]:
    values = pd.DataFrame(
        [expected_random_metrics(len(ids), n_experts) for ids in _acceptable(projects)],
        columns=list(METRIC_NAMES),
    )
    return bootstrap_summary(values, **boot)


def _system_section(
    rankings: pd.DataFrame,
    projects: pd.DataFrame,
    boot: Mapping[str, Any],
    unranked: str,
) -> tuple[dict[str, dict[str, float]], int]:
    """Metrics of one system on one split/variant, and how many projects it skipped."""
    project_ids = as_id_list(projects["project_id"])
    unknown = sorted_ids(set(as_id_list(rankings["project_id"])) - set(project_ids))
    if unknown:
        first = rankings.iloc[0]
        raise ValueError(
            f"System '{first['system']}' ranks {len(unknown)} project(s) that are not "
            f"{first['split']}/{first['variant']} projects (e.g. {unknown[:5]})."
        )
    lists, n_missing = ranked_lists(rankings, project_ids)
    acceptable = _acceptable(projects)
    if unranked == "skip":
        kept = [i for i, ranked in enumerate(lists) if ranked]
        lists = [lists[i] for i in kept]
        acceptable = [acceptable[i] for i in kept]
    values = per_project_metrics(lists, acceptable)
    return bootstrap_summary(values, **boot), n_missing


def _evaluable(
    targets: dict[tuple[str, str], pd.DataFrame], settings: EvaluationSettings
) -> dict[tuple[str, str], pd.DataFrame]:
    """The split/variant project sets to report, without an empty partial variant.

    A small export may have no test agenda long enough for a partial variant
    (``partial_agendas.min_questions``): that variant is left out of the report,
    with a log line, instead of failing the whole evaluation.

    Raises:
        ValueError: If a full-agenda split has no project (nothing to evaluate).
    """
    kept = {}
    for (split, variant), projects in targets.items():
        if len(projects):
            kept[split, variant] = projects
        elif variant == "partial":
            logger.warning(
                "No %s agenda has evaluation.partial_agendas.min_questions=%s "
                "questions: the partial-agenda variant is skipped.",
                split,
                settings.partial_agendas.min_questions,
            )
        else:
            raise ValueError(
                f"The {split} split has no project, so there is nothing to evaluate; "
                "check split.fractions against the number of projects."
            )
    return kept


def _machine() -> dict[str, Any]:
    """Where the numbers were measured (timings depend on it)."""
    import torch  # noqa: PLC0415 - heavy import, only for the report

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    cores = os.cpu_count()
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": cores,
        "gpu": gpu,
        "description": gpu or f"CPU ({cores} cores, no GPU)",
    }


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
    targets = _evaluable(
        {
            ("validation", "full"): validation_projects,
            ("test", "full"): test_projects,
            ("test", "partial"): partial_test_projects,
        },
        settings,
    )
    test: dict[str, dict[str, Any]] = {RANDOM_SYSTEM: {}}
    validation: dict[str, dict[str, Any]] = {RANDOM_SYSTEM: {}}
    for (split, variant), projects in targets.items():
        section = test if split == "test" else validation
        section[RANDOM_SYSTEM][variant] = _random_section(
            projects, len(roster_ids), boot
        )
    unranked = settings.unranked_projects
    missing: dict[str, int] = {}
    systems = list(dict.fromkeys(rankings["system"]))
    for system in systems:
        own = rankings[rankings["system"] == system]
        for (split, variant), projects in targets.items():
            part = own[(own["split"] == split) & (own["variant"] == variant)]
            if part.empty:
                continue
            summary, n_missing = _system_section(part, projects, boot, unranked)
            section = test if split == "test" else validation
            section.setdefault(system, {})[variant] = summary
            if n_missing:
                missing[f"{system}/{split}/{variant}"] = n_missing
                logger.warning(
                    "System '%s' did not rank %d of %d %s/%s projects; %s.",
                    system,
                    n_missing,
                    len(projects),
                    split,
                    variant,
                    "they count as misses"
                    if unranked == "miss"
                    else "its metrics cover the ranked ones only",
                )
    n_train = int(train_pairs["project_id"].nunique())
    counts = {
        "train": n_train,
        "validation": len(validation_projects),
        "test": len(test_projects),
        "test_partial": len(partial_test_projects),
    }
    total = n_train + len(validation_projects) + len(test_projects)
    return {
        "systems": test,
        "validation": validation,
        "n_projects": counts,
        "split_fractions": {
            split: round(counts[split] / total, 4)
            for split in ("train", "validation", "test")
        },
        "roster_size": len(roster_ids),
        "unranked_projects": missing,
        "unranked_policy": unranked,
        "hybrid": dict(hybrid_tuning),
        "timing_seconds": dict(retrieval_timings),
        "bootstrap": {**boot, "unit": "project", "method": "percentile"},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
    }


def plot_evaluation_comparison(evaluation_metrics: Mapping[str, Any]) -> Figure:
    """Comparison plot of all systems (full vs partial agendas) with 95% CIs."""
    return plot_comparison(evaluation_metrics)


def render_evaluation_table(evaluation_metrics: Mapping[str, Any]) -> str:
    """Markdown results table (README) and a compact table in the run log."""
    logger.info("Evaluation on the test split:\n%s", compact_table(evaluation_metrics))
    return render_results_table(evaluation_metrics)

"""The ``evaluation_metrics`` report: every system's metrics per split and variant.

Each system is scored from its rankings table on the projects of each split and
agenda variant, with percentile-bootstrap intervals over projects; ``random`` is the
exact expectation of a uniform ranking of the roster. A project a system did not
rank counts as a miss or is left out (``evaluation.unranked_projects``), and is
logged either way.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Mapping
from typing import Any

import pandas as pd

from expert_kedro.evaluation.metrics import (
    METRIC_NAMES,
    bootstrap_summary,
    expected_random_metrics,
    per_project_metrics,
)
from expert_kedro.evaluation.rankings import ranked_lists
from expert_kedro.evaluation.recall import expected_random_recall, recall_metrics
from expert_kedro.evaluation.settings import EvaluationSettings
from expert_kedro.identifiers import as_id_list, sorted_ids

logger = logging.getLogger(__name__)

RANDOM_SYSTEM = "random"
# (split, variant) -> {system: {variant: {metric: {value, ci_low, ci_high}}}}
Sections = dict[str, dict[str, dict[str, Any]]]


def _acceptable(projects: pd.DataFrame) -> list[list[str]]:
    return [as_id_list(ids) for ids in projects["acceptable_expert_ids"]]


def _random_section(
    projects: pd.DataFrame,
    n_experts: int,
    boot: Mapping[str, Any],
    recall_at: tuple[int, ...],
) -> dict[str, dict[str, float]]:
    recall = expected_random_recall(n_experts, recall_at)
    values = pd.DataFrame(
        [
            expected_random_metrics(len(ids), n_experts) | recall
            for ids in _acceptable(projects)
        ],
        columns=[*METRIC_NAMES, *recall],
    )
    return bootstrap_summary(values, **boot)


def _system_section(
    rankings: pd.DataFrame,
    projects: pd.DataFrame,
    boot: Mapping[str, Any],
    unranked: str,
    recall_at: tuple[int, ...],
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
    values = per_project_metrics(lists, acceptable).join(
        recall_metrics(lists, acceptable, recall_at)
    )
    return bootstrap_summary(values, **boot), n_missing


def evaluable_targets(
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


def machine_description() -> dict[str, Any]:
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


def score_systems(
    rankings: pd.DataFrame,
    targets: Mapping[tuple[str, str], pd.DataFrame],
    n_experts: int,
    boot: Mapping[str, Any],
    unranked: str,
    *,
    recall_at: tuple[int, ...] = (),
) -> tuple[Sections, dict[str, int]]:
    """Metrics of ``random`` and of every ranked system on each target.

    Args:
        rankings: Every system's rankings (validated).
        targets: (split, variant) -> its projects (:func:`evaluable_targets`).
        n_experts: Roster size (the random expectation depends on it).
        boot: ``n_boot``, ``seed`` and ``confidence`` of the bootstrap.
        unranked: ``miss`` or ``skip`` (``evaluation.unranked_projects``).
        recall_at: Depths K of the recall@K columns (``evaluation.recall_at``).

    Returns:
        ``({"test": ..., "validation": ...}, {"system/split/variant": unranked})``.
    """
    sections: Sections = {
        "test": {RANDOM_SYSTEM: {}},
        "validation": {RANDOM_SYSTEM: {}},
    }
    for (split, variant), projects in targets.items():
        sections[split][RANDOM_SYSTEM][variant] = _random_section(
            projects, n_experts, boot, recall_at
        )
    missing: dict[str, int] = {}
    for system in dict.fromkeys(rankings["system"]):
        own = rankings[rankings["system"] == system]
        for (split, variant), projects in targets.items():
            part = own[(own["split"] == split) & (own["variant"] == variant)]
            if part.empty:
                continue
            summary, n_missing = _system_section(
                part, projects, boot, unranked, recall_at
            )
            sections[split].setdefault(system, {})[variant] = summary
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
    return sections, missing


def split_sizes(
    train_pairs: pd.DataFrame,
    validation_projects: pd.DataFrame,
    test_projects: pd.DataFrame,
    partial_test_projects: pd.DataFrame,
) -> dict[str, dict[str, float]]:
    """Projects per split and each split's share of all projects."""
    counts = {
        "train": int(train_pairs["project_id"].nunique()),
        "validation": len(validation_projects),
        "test": len(test_projects),
        "test_partial": len(partial_test_projects),
    }
    total = counts["train"] + counts["validation"] + counts["test"]
    return {
        "n_projects": counts,
        "split_fractions": {
            split: round(counts[split] / total, 4)
            for split in ("train", "validation", "test")
        },
    }

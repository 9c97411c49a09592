"""Nodes of the augmentation pipeline: partial-agenda training examples."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import pandas as pd

from expert_kedro.identifiers import as_id, id_seed, sorted_ids
from expert_kedro.preprocessing.frames import as_lists
from expert_kedro.preprocessing.splitting import (
    containing_projects,
    question_index,
)
from expert_kedro.training_data.pairs import (
    PAIR_COLUMNS,
    make_pair,
    profile_for,
    roster_lookup,
)
from expert_kedro.training_data.partial_agendas import make_partial_agendas
from expert_kedro.training_data.settings import AugmentationSettings, PairsSettings

logger = logging.getLogger(__name__)


def _kept_variants(
    *,
    split: str,
    agendas: Mapping[str, list[str]],
    project_ids: list[str],
    split_of: Mapping[str, str],
    settings: AugmentationSettings,
) -> tuple[list[tuple[str, list[str]]], Counter]:
    """Partial agendas of ``project_ids`` that are new and belong to ``split`` only.

    Returns:
        ``(project_id, partial agenda)`` kept, and the counts of projects with
        variants (``eligible``), of variants shared with another split's agenda
        (``leaks``) and of repeats of an agenda or an earlier variant (``repeats``).
    """
    index = question_index(agendas)
    full_agendas = {frozenset(a) for a in agendas.values()}
    drawn: set[frozenset] = set()
    counts: Counter = Counter()
    kept = []
    for project_id in project_ids:
        variants = make_partial_agendas(
            agendas[project_id],
            sizes=settings.partial_sizes,
            n_variants=settings.variants_per_agenda,
            seed=[settings.seed, id_seed(project_id)],
            min_questions=settings.min_questions,
        )
        counts["eligible"] += bool(variants)
        for variant in variants:
            owners = containing_projects(variant, index)
            if any(split_of[p] != split for p in owners):
                # The subset is also part of an agenda in another split: skip it.
                counts["leaks"] += 1
                continue
            key = frozenset(variant)
            if key in full_agendas or key in drawn:
                # Same questions as another project's agenda or an earlier variant.
                counts["repeats"] += 1
                continue
            drawn.add(key)
            kept.append((project_id, variant))
    return kept, counts


def _augment_split(
    *,
    split: str,
    pairs: pd.DataFrame,
    matches: pd.DataFrame,
    split_of: Mapping[str, str],
    profiles: Mapping[str, dict[str, Any]],
    pair_settings: PairsSettings,
    settings: AugmentationSettings,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Partial-agenda pairs for one split, and what happened to them."""
    agendas = {
        as_id(p): g["agenda"].iloc[0]
        for p, g in matches.groupby("project_id", sort=False)
    }
    rows = matches.set_index(["project_id", "expert_id"])
    experts = pairs.groupby("project_id")["expert_id"].agg(sorted_ids).to_dict()
    kept, counts = _kept_variants(
        split=split,
        agendas=agendas,
        project_ids=sorted_ids(experts),
        split_of=split_of,
        settings=settings,
    )
    records = [
        make_pair(
            project_id=project_id,
            profile=profile_for(profiles, expert_id),
            agenda=variant,
            responses=rows.loc[(project_id, expert_id)]["responses"],
            title=rows.loc[(project_id, expert_id)]["project_title"],
            settings=pair_settings,
            source="partial",
        )
        for project_id, variant in kept
        for expert_id in experts[project_id]
    ]
    partial = pd.DataFrame(records, columns=list(PAIR_COLUMNS))
    parts = [pairs.loc[:, list(PAIR_COLUMNS)]] if settings.include_original else []
    combined = pd.concat([*parts, partial], ignore_index=True)
    sizes = Counter(len(variant) for _, variant in kept)
    report = {
        "projects": len(experts),
        "projects_with_variants": counts["eligible"],
        "partial_agendas_by_size": {str(k): v for k, v in sorted(sizes.items())},
        "partial_agendas_removed_as_shared_with_other_split": counts["leaks"],
        "partial_agendas_removed_as_duplicates": counts["repeats"],
        "examples_by_source": {
            s: int(c) for s, c in combined["source"].value_counts().sort_index().items()
        },
        "examples_total": len(combined),
    }
    return combined, report


# Kedro passes node inputs positionally, one per dataset.
def augment_pairs(  # noqa: PLR0917
    train_pairs: pd.DataFrame,
    validation_pairs: pd.DataFrame,
    clean_matches: pd.DataFrame,
    project_splits: pd.DataFrame,
    expert_roster: pd.DataFrame,
    pairs_params: Mapping[str, Any],
    augmentation_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Add partial-agenda examples to the splits listed in ``augmentation.splits``.

    For each project of an augmented split with at least ``min_questions``
    questions, ``variants_per_agenda`` partial agendas of ``partial_sizes``
    questions are drawn (seeded per project) and paired with every expert of the
    project, with targets built like the originals (``pairs`` parameters). A
    partial agenda whose questions all appear in a project of another split is
    dropped, so no input is shared across splits.

    Args:
        train_pairs: Original training pairs.
        validation_pairs: Original validation pairs.
        clean_matches: Clean match rows (agendas, titles, answers).
        project_splits: Project -> split.
        expert_roster: Expert profiles.
        pairs_params: ``pairs`` parameters (output format, prompts...).
        augmentation_params: ``augmentation`` parameters.

    Returns:
        ``augmented_train_pairs`` and ``augmented_validation_pairs`` (originals
        with ``source="original"`` when ``include_original``, plus partial pairs
        with ``source="partial"``; a split not listed stays as is) and the
        augmentation report.
    """
    settings = AugmentationSettings.from_params(augmentation_params)
    pair_settings = PairsSettings.from_params(pairs_params)
    matches = as_lists(clean_matches, ["agenda", "responses"])
    profiles = roster_lookup(as_lists(expert_roster, ["expert_skills"]))
    split_of = {as_id(p): s for p, s in project_splits[["project_id", "split"]].values}
    outputs, reports = {}, {}
    for split, raw_pairs in (("train", train_pairs), ("validation", validation_pairs)):
        split_pairs = as_lists(raw_pairs, ["agenda"])
        if split in settings.splits:
            outputs[split], reports[split] = _augment_split(
                split=split,
                pairs=split_pairs,
                matches=matches,
                split_of=split_of,
                profiles=profiles,
                pair_settings=pair_settings,
                settings=settings,
            )
        else:
            outputs[split] = split_pairs.loc[:, list(PAIR_COLUMNS)]
            reports[split] = {
                "augmented": False,
                "examples_by_source": {"original": len(split_pairs)},
                "examples_total": len(split_pairs),
            }
        logger.info(
            "Augmented %s pairs: %s", split, reports[split]["examples_by_source"]
        )
    report = {"parameters": asdict(settings), "splits": reports}
    return outputs["train"], outputs["validation"], report

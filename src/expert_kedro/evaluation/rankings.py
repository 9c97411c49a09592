"""The rankings table: the one contract between recommender systems and the metrics.

Every system, baseline or LLM, hands the metrics node a long table with one row per
(project, recommended expert)::

    system:str   split:str ("validation" | "test")   variant:str ("full" | "partial")
    project_id:str   rank:int (1 = best)   expert_id:str   score:float

Ids are the text of the raw export (see ``expert_kedro.identifiers``). A rerank
system (fine-tuned, zero-shot, cross-encoder) adds ``retrieval_score`` and
``llm_score``, the two signals its fusion combined for each project's ``K``
candidates (NaN for the rest of the roster).

Rules checked by ``validate_rankings``: expert ids belong to the roster, a project's
list has no repeated expert and ranks run 1..n. A project a system did not rank counts
as a miss (logged with its count).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from expert_kedro.identifiers import as_id, as_id_list
from expert_kedro.retrieval.base import Recommender, ScoringRetriever, top_k
from expert_kedro.retrieval.timeline import retriever_times

logger = logging.getLogger(__name__)

RANKING_COLUMNS: tuple[str, ...] = (
    "system",
    "split",
    "variant",
    "project_id",
    "rank",
    "expert_id",
    "score",
)
SPLITS = ("validation", "test")
VARIANTS = ("full", "partial")


def _agendas(projects: pd.DataFrame) -> list[list[str]]:
    return [[str(question) for question in agenda] for agenda in projects["agenda"]]


def rankings_table(  # noqa: PLR0917 - one rankings block, all arguments required
    system: str,
    split: str,
    variant: str,
    project_ids: Sequence[str],
    ids: np.ndarray | Sequence[Sequence[str]],
    scores: np.ndarray | Sequence[Sequence[float]],
) -> pd.DataFrame:
    """Rankings rows of one system on one split/variant, every project ranked as deep.

    Args:
        system: System name.
        split: ``"validation"`` or ``"test"``.
        variant: ``"full"`` or ``"partial"``.
        project_ids: Projects, one per row of ``ids``.
        ids: ``[n_projects, depth]`` expert ids, best first.
        scores: Their scores, same shape.

    Returns:
        Rankings table (see module docstring), ``n_projects * depth`` rows.
    """
    ids = np.asarray(ids, dtype=object)
    ids = ids.reshape(len(project_ids), ids.size // max(len(project_ids), 1))
    scores = np.asarray(scores, dtype=float).reshape(ids.shape)
    n_projects, depth = ids.shape
    return pd.DataFrame(
        {
            "system": system,
            "split": split,
            "variant": variant,
            "project_id": np.repeat(
                np.asarray(as_id_list(project_ids), dtype=object), depth
            ),
            "rank": np.tile(np.arange(1, depth + 1), n_projects),
            "expert_id": np.asarray(as_id_list(ids.ravel()), dtype=object),
            "score": scores.ravel().astype(float),
        },
        columns=list(RANKING_COLUMNS),
    )


def rank_with_retriever(
    retriever: ScoringRetriever,
    projects: pd.DataFrame,
    *,
    split: str,
    variant: str,
    depth: int | None = None,
) -> pd.DataFrame:
    """Rank roster experts for every project with a scoring retriever.

    Args:
        retriever: Object with ``name``, ``expert_ids`` and ``score_all``; one
            with a ``timeline`` (recent activity) also gets each project's time.
        projects: Projects table (``project_id``, ``agenda``, and the time column
            of a timed retriever).
        split: ``"validation"`` or ``"test"``.
        variant: ``"full"`` or ``"partial"`` agenda.
        depth: Experts kept per project; None keeps the whole roster (exact MRR).

    Returns:
        Rankings table (see module docstring).
    """
    k = len(retriever.expert_ids) if depth is None else depth
    times = retriever_times(retriever, projects)
    agendas = _agendas(projects)
    scores = (
        retriever.score_all(agendas)
        if times is None
        else retriever.score_all(agendas, times)
    )
    ids, top_scores = top_k(scores, retriever.expert_ids, k)
    return rankings_table(
        retriever.name, split, variant, projects["project_id"], ids, top_scores
    )


def rank_with_recommender(
    recommender: Recommender,
    projects: pd.DataFrame,
    *,
    split: str,
    variant: str,
    k: int,
) -> pd.DataFrame:
    """Rank experts for every project with any ``Recommender`` (e.g. an LLM system).

    The score column is ``-rank`` because list-only systems have no calibrated score.

    Args:
        recommender: Object with ``name`` and ``rank(agendas, k)``.
        projects: Projects table (``project_id``, ``agenda``).
        split: ``"validation"`` or ``"test"``.
        variant: ``"full"`` or ``"partial"`` agenda.
        k: Experts requested per project.

    Returns:
        Rankings table (see module docstring); a project may hold fewer than ``k``.
    """
    frames = []
    for project_id, ranked in zip(
        projects["project_id"], recommender.rank(_agendas(projects), k), strict=True
    ):
        ids = np.asarray(as_id_list(ranked), dtype=object)[None, :]
        frames.append(
            rankings_table(
                recommender.name,
                split,
                variant,
                [as_id(project_id)],
                ids,
                -np.arange(1.0, ids.shape[1] + 1)[None, :],
            )
        )
    if not frames:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def validate_rankings(rankings: pd.DataFrame, roster_ids: Iterable[str]) -> None:
    """Check a rankings table against the contract.

    Args:
        rankings: Rankings table of one or more systems.
        roster_ids: Expert ids of the roster.

    Raises:
        ValueError: Naming the system and project of the first violation.
    """
    missing = [column for column in RANKING_COLUMNS if column not in rankings.columns]
    if missing:
        raise ValueError(
            f"Rankings table lacks column(s) {missing}; "
            f"expected {list(RANKING_COLUMNS)}."
        )
    bad_split = sorted(set(rankings["split"]) - set(SPLITS))
    bad_variant = sorted(set(rankings["variant"]) - set(VARIANTS))
    if bad_split or bad_variant:
        raise ValueError(
            f"Rankings use unknown split(s) {bad_split} / variant(s) {bad_variant}; "
            f"allowed: {SPLITS} / {VARIANTS}."
        )
    roster = set(as_id_list(list(roster_ids)))
    off_roster = rankings[~rankings["expert_id"].map(as_id).isin(roster)]
    if not off_roster.empty:
        first = off_roster.iloc[0]
        raise ValueError(
            f"System '{first['system']}' recommends expert_id {first['expert_id']} "
            f"(project {first['project_id']}, {first['split']}/{first['variant']}), "
            f"which is not in the roster; {len(off_roster)} such row(s). Ground "
            "recommendations on roster ids before evaluation."
        )
    keys = ["system", "split", "variant", "project_id"]
    repeated = rankings[rankings.duplicated([*keys, "expert_id"])]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise ValueError(
            f"System '{first['system']}' lists expert_id {first['expert_id']} twice "
            f"for project {first['project_id']} ({first['split']}/{first['variant']})."
        )
    ranks = rankings.groupby(keys)["rank"].agg(["min", "max", "count", "nunique"])
    broken = ranks[
        (ranks["min"] != 1)
        | (ranks["max"] != ranks["count"])
        | (ranks["nunique"] != ranks["count"])
    ]
    if not broken.empty:
        system, split, variant, project_id = broken.index[0]
        raise ValueError(
            f"Ranks of system '{system}' for project {project_id} ({split}/{variant}) "
            f"must run 1..n without gaps or repeats ({len(broken)} project(s))."
        )


def ranked_lists(
    rankings: pd.DataFrame, project_ids: Sequence[str]
) -> tuple[list[list[str]], int]:
    """The ranked expert ids of each project, in ``project_ids`` order.

    Args:
        rankings: Rankings of ONE system, split and variant.
        project_ids: Projects to evaluate.

    Returns:
        ``(lists, n_missing)``: one list per project (empty when the system did not
        rank it) and how many projects were missing.
    """
    ordered = rankings.sort_values(["project_id", "rank"])
    by_project = {
        as_id(project_id): as_id_list(group["expert_id"])
        for project_id, group in ordered.groupby("project_id", sort=False)
    }
    wanted = as_id_list(list(project_ids))
    lists = [by_project.get(project_id, []) for project_id in wanted]
    n_missing = sum(1 for project_id in wanted if project_id not in by_project)
    return lists, n_missing

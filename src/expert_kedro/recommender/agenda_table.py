"""The new-agendas table: validated rows and the times they are scored at.

``new_agendas`` holds ``case_id`` and ``agenda`` (a JSON list of questions) and,
for back-tests, an optional ``as_of``: when the agenda is to be scored. Only the
recent-activity term of the candidate stage (``retrieval.recency``) depends on it;
the rest of the index is the one fitted on every training project.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from expert_kedro.preprocessing.parsing import parse_agenda_strict
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.retrieval.timeline import as_of_times

logger = logging.getLogger(__name__)


def parse_agenda_table(table: pd.DataFrame, name: str = "new_agendas") -> pd.DataFrame:
    """Validate agendas to recommend for.

    Args:
        table: Rows with ``case_id`` and ``agenda`` (a JSON list of questions, or a
            list); harmless slips (single quotes, trailing comma, HTML entities) are
            repaired by the project's tolerant parser.
        name: Dataset name used in error messages.

    Returns:
        ``case_id`` (str), ``agenda`` (list of str), in input order; and ``as_of``
        (str, empty: now) when the table has that column: when each agenda is to be
        scored, for back-tests against the recent-activity term of the index.

    Raises:
        ValueError: For missing columns, an empty table, a repeated ``case_id`` or
            an agenda that is empty, not a list or unreadable (naming the case).
    """
    missing = [c for c in ("case_id", "agenda") if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {missing}; expected columns case_id, agenda "
            f"(JSON list of questions); found {list(table.columns)}."
        )
    if table.empty:
        raise ValueError(f"{name} has no rows: give at least one agenda.")
    case_ids = table["case_id"].astype(str).str.strip()
    repeated = sorted(set(case_ids[case_ids.duplicated()]))
    if repeated:
        raise ValueError(
            f"{name} repeats case_id(s) {repeated[:10]}; make them unique."
        )
    agendas = [
        parse_agenda_strict(value, field="agenda", row=case_id)
        for case_id, value in zip(case_ids, table["agenda"], strict=True)
    ]
    parsed = pd.DataFrame({"case_id": case_ids.tolist(), "agenda": agendas})
    if "as_of" in table.columns:
        parsed["as_of"] = table["as_of"].astype("string").fillna("").str.strip().values
    return parsed


def agenda_times(
    ranker: RerankRanker | GenerativeRanker, agendas: pd.DataFrame
) -> np.ndarray | None:
    """The ``as_of`` times of the agendas, when the table and the index have them.

    Raises:
        ValueError: For an ``as_of`` cell the index cannot read, naming the case.
    """
    if "as_of" not in agendas.columns or not agendas["as_of"].astype(bool).any():
        return None
    timeline = getattr(getattr(ranker, "retriever", None), "timeline", None)
    if timeline is None:
        logger.warning(
            "new_agendas has as_of dates but the %s has no recent-activity term "
            "(retrieval.recency): every agenda is ranked the same at any date.",
            "retrieval index"
            if isinstance(ranker, RerankRanker)
            else "generative mode",
        )
        return None
    times = as_of_times(timeline, agendas["as_of"], agendas["case_id"])
    logger.info(
        "Recent activity counted as of each agenda's as_of (%d of %d agendas; the "
        "others as of now).",
        int((~np.isnan(times)).sum()),
        len(times),
    )
    return times

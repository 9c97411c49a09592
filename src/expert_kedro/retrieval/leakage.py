"""Evaluation honesty: no validation or test project may be part of a retrieval index.

A held-out project leaks when its ``project_id`` was indexed or when an indexed
training agenda is identical to its agenda (case and whitespace ignored). The check
reads only indexed project ids and agenda digests, so it runs on the documents an
index is fit on and on a saved ``RetrievalIndex`` alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

import pandas as pd

from expert_kedro.identifiers import as_id, sorted_ids
from expert_kedro.retrieval.base import agenda_digest, as_text_list, require_columns

logger = logging.getLogger(__name__)


class IndexLeakageError(ValueError):
    """A held-out project (validation/test) is part of a retrieval index."""


class IndexedProjects(Protocol):
    """What an index holds of the training projects (``ExpertDocuments``, or a
    loaded ``RetrievalIndex``): enough for ``check_no_leakage``."""

    indexed_project_ids: frozenset[str]

    def indexed_agenda_digests(self) -> set[str]:
        """Digests of every indexed agenda (``agenda_digest``)."""
        ...


def check_no_leakage(
    documents: IndexedProjects, heldout: Mapping[str, pd.DataFrame]
) -> dict[str, int]:
    """Fail if any held-out project is part of the retrieval index.

    A held-out project leaks when its ``project_id`` was indexed or when an indexed
    training agenda is identical to its agenda (case and whitespace ignored).

    Args:
        documents: The index source every retriever was fit on, or a fitted
            ``RetrievalIndex``.
        heldout: Split name -> projects table (``project_id``, ``agenda``), e.g.
            ``{"validation": validation_projects, "test": test_projects}``.

    Returns:
        Number of held-out projects checked, per split.

    Raises:
        IndexLeakageError: Naming the split and the first offending project ids.
    """
    indexed_agendas = documents.indexed_agenda_digests()
    checked = {}
    for split, projects in heldout.items():
        require_columns(projects, ("project_id", "agenda"), f"{split}_projects")
        ids = [as_id(pid) for pid in projects["project_id"]]
        by_id = sorted_ids(set(ids) & documents.indexed_project_ids)
        by_agenda = sorted_ids(
            pid
            for pid, agenda in zip(ids, projects["agenda"], strict=True)
            if agenda_digest(as_text_list(agenda)) in indexed_agendas
        )
        if by_id or by_agenda:
            raise IndexLeakageError(
                f"{split} projects leak into the retrieval index: {len(by_id)} by "
                f"project_id (e.g. {by_id[:5]}), {len(by_agenda)} by identical agenda "
                f"(e.g. {by_agenda[:5]}). Fit retrievers on train pairs only."
            )
        checked[split] = len(projects)
    logger.info("Leakage check passed: %s held-out projects are not indexed.", checked)
    return checked

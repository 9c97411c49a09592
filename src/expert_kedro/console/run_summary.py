"""End a ``kedro run`` that wrote recommendations with what a person wants to see.

``kedro run --pipelines=inference`` would otherwise end with "Pipeline execution
completed successfully" and leave the reader to find the newest timestamped folder
under ``data/07_model_output``. The hook logs a compact table of each agenda's top
experts and the resolved path of the version just written.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl
from kedro.io import AbstractVersionedDataset

from expert_kedro.console.tables import SUMMARY_COLUMNS, format_recommendations

logger = logging.getLogger(__name__)

SUMMARY_RANKS = 3
"""Ranks shown per agenda (the file has ``recommender.top_k``)."""

SUMMARY_AGENDAS = 10
"""Agendas shown; the others are counted (the file has them all)."""


def saved_path(catalog: Any, name: str) -> str:
    """Where the catalog's dataset ``name`` was just saved.

    For a versioned dataset this is the file inside the version folder of this
    run's save version (``<filepath>/<version>/<file name>``), shown relative to
    the working directory when it lies below it.

    Args:
        catalog: The run's catalog.
        name: A dataset saved in this run.

    Returns:
        The path, or the dataset's description when it has no file path.
    """
    dataset = catalog.get(name)
    if isinstance(dataset, AbstractVersionedDataset):
        version = dataset.resolve_save_version()
        for path in dataset.list_versions(full_path=True):
            if Path(path).parent.name == version:
                return _relative(path)
    filepath = getattr(dataset, "filepath", None) or getattr(dataset, "_filepath", "")
    return _relative(str(filepath)) if filepath else str(dataset)


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:  # not below the working directory: keep it whole
        return path


class RecommendationSummaryHooks:
    """Log each agenda's top experts and the file written when a run saves them.

    Args:
        dataset: Catalog name of the recommendations.
    """

    def __init__(self, dataset: str = "recommendations") -> None:
        self.dataset = dataset
        self._saved: pd.DataFrame | None = None

    @hook_impl
    def before_pipeline_run(self) -> None:
        """Forget what an earlier (perhaps failed) run in this process saved."""
        self._saved = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        """Keep the recommendations this run saved (no reload from disk)."""
        if dataset_name == self.dataset and isinstance(data, pd.DataFrame):
            self._saved = data

    @hook_impl
    def after_pipeline_run(self, catalog: Any) -> None:
        """Log the table and the path, once per run that saved recommendations."""
        if self._saved is None:
            return
        data, self._saved = self._saved, None
        if data.empty or not set(SUMMARY_COLUMNS) <= set(data.columns):
            return
        table = format_recommendations(
            data, SUMMARY_COLUMNS, top=SUMMARY_RANKS, max_cases=SUMMARY_AGENDAS
        )
        logger.info(
            "Top %d experts for %d agenda(s):\n%s\nAll %d recommendations: %s",
            min(SUMMARY_RANKS, int(data["rank"].max())),
            data["case_id"].nunique(),
            table,
            len(data),
            saved_path(catalog, self.dataset),
        )

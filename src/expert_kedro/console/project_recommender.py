"""Rank experts for one agenda inside a Kedro project, as the inference pipeline does.

The catalog's datasets (adapter, base model, roster, training pairs, the saved
``retrieval_index`` and ``rerank_tuning``) go to
``recommender.loader.load_recommender``, the function behind the pipeline's
``load_recommender_node``: nothing is fit. Missing datasets become one-line errors
that name the command which builds them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from expert_kedro.console.errors import CLIError
from expert_kedro.console.project_config import ProjectConfig, read_project_config
from expert_kedro.console.terminal_logging import route_logs_to_stderr
from expert_kedro.recommender.adapters import TRAIN_COMMAND


def _adapter_dataset(config: ProjectConfig, version: str | None) -> Any:
    from kedro.io import AbstractDataset  # noqa: PLC0415

    entry = config.catalog_config.get("lora_adapter")
    if entry is None:
        raise CLIError(
            "The catalog has no 'lora_adapter' entry; configure it in "
            "conf/base/catalog_model_training.yml."
        )
    return AbstractDataset.from_config(
        "lora_adapter", dict(entry), load_version=version
    )


def adapter_version_on_disk(config: ProjectConfig, version: str | None) -> str | None:
    """The ``lora_adapter`` version a call would load now (None: there is none).

    Args:
        config: The project's configuration.
        version: A pinned version (returned when it exists), or None: the latest.
    """
    dataset = _adapter_dataset(config, version)
    try:
        return dataset.resolve_load_version() if dataset.exists() else None
    except Exception:  # noqa: BLE001 - no versions at all
        return None


def load_adapter(config: ProjectConfig, version: str | None) -> Any:
    """Handle of the latest (or the given) ``lora_adapter`` version.

    Raises:
        CLIError: No such version (the versions that exist are listed).
    """
    dataset = _adapter_dataset(config, version)
    if not dataset.exists():
        raise CLIError(
            f"No trained LoRA adapter found at "
            f"'{config.catalog_config['lora_adapter'].get('filepath')}' "
            f"({f'version {version}' if version else 'any version'}). "
            f"{_known_versions(dataset)}Train one with `{TRAIN_COMMAND}`."
        )
    return dataset.load()


def _known_versions(dataset: Any) -> str:
    try:
        versions = dataset.list_versions(full_path=False)
    except Exception:  # noqa: BLE001 - no versions at all: say nothing more
        return ""
    shown = ", ".join(versions[:5]) + (" ..." if len(versions) > 5 else "")
    return f"Versions there (newest first): {shown}. " if versions else ""


def _load(catalog: Any, name: str) -> Any:
    from kedro.io import DatasetError  # noqa: PLC0415

    try:
        return catalog.load(name)
    except DatasetError as exc:
        first = str(exc).splitlines()[0]
        raise CLIError(
            f"Cannot load '{name}' ({first}). Build it with `{TRAIN_COMMAND}`."
        ) from None


def bootstrap(project_path: Path, verbose: bool) -> None:
    """Load the project's ``settings.py``, quietly unless ``verbose``.

    Importing Kedro's project module and bootstrapping both (re)apply Kedro's
    logging configuration and log that they did; logs then go to stderr.
    """
    logging.disable(logging.NOTSET if verbose else logging.INFO)
    try:
        from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

        bootstrap_project(project_path)
    finally:
        logging.disable(logging.NOTSET)
    route_logs_to_stderr(verbose)


def agenda_table(agenda: list[str]) -> pd.DataFrame:
    """One agenda as the table :meth:`LoadedRecommender.recommend` ranks.

    Raises:
        ValueError: If the agenda is empty or not a list of questions.
    """
    from expert_kedro.recommender.agenda_table import parse_agenda_table  # noqa: PLC0415

    return parse_agenda_table(
        pd.DataFrame({"case_id": ["cli"], "agenda": [json.dumps(agenda)]}), "agenda"
    )


def load_project_recommender(
    config: ProjectConfig, adapter_version: str | None, overrides: dict[str, Any]
) -> Any:
    """The project's recommender, loaded as the inference pipeline loads it.

    Args:
        config: The project's configuration (after :func:`bootstrap`).
        adapter_version: ``lora_adapter`` version (None: the latest).
        overrides: ``recommender`` parameters set on the command line.

    Returns:
        The :class:`~expert_kedro.recommender.loader.LoadedRecommender`.
    """
    from expert_kedro.recommender.loader import load_recommender  # noqa: PLC0415
    from expert_kedro.recommender.settings import (  # noqa: PLC0415
        RecommenderSettings,
    )
    from expert_kedro.training_data.settings import PairsSettings  # noqa: PLC0415

    catalog, params = config.catalog(), config.params
    settings = RecommenderSettings.from_params(
        {**(params.get("recommender") or {}), **overrides}
    )
    pairs = PairsSettings.from_params(params.get("pairs") or {})
    rerank = settings.mode == "rerank"
    return load_recommender(
        _load(catalog, "base_model"),
        load_adapter(config, adapter_version),
        settings,
        expert_roster=_load(catalog, "expert_roster"),
        train_pairs=_load(catalog, "train_pairs"),
        retrieval_index=_load(catalog, "retrieval_index") if rerank else None,
        rerank_tuning=_load(catalog, "rerank_tuning") if rerank else None,
        generative_system=pairs.system_prompt,
        output_format=pairs.output_format,
    )


def recommend_for_agenda(  # noqa: PLR0913 - the command's choices
    agenda: list[str],
    *,
    project_path: Path,
    env: str | None,
    adapter_version: str | None,
    overrides: dict[str, Any],
    verbose: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rank experts for one agenda as the inference pipeline does.

    Args:
        agenda: The questions.
        project_path: Root of the Kedro project.
        env: Kedro configuration environment (None: the default).
        adapter_version: ``lora_adapter`` version (None: the latest).
        overrides: ``recommender`` parameters set on the command line.
        verbose: Keep INFO logs (on stderr).

    Returns:
        The ``recommendations`` rows and the ``inference_metrics``.
    """
    bootstrap(project_path, verbose)
    config = read_project_config(project_path, env)
    agendas = agenda_table(agenda)
    recommender = load_project_recommender(config, adapter_version, overrides)
    return recommender.recommend(agendas)

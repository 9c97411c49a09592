"""The catalog and parameters of a Kedro project, read without a Kedro session.

``expert-recommend`` runs no pipeline: it loads six datasets and two parameter
groups. A ``KedroSession`` would also validate the parameters against every
registered pipeline (which imports the training stack: Trainer, TRL) and call the
plugins' hooks (kedro-mlflow imports MLflow and opens its store), seconds of start-up
that a one-agenda call pays each time. This module reads the same configuration with
the project's own config loader (``settings.CONFIG_LOADER_CLASS``, so environments
and their stacking behave as in ``kedro run``) and builds the catalog with
``DataCatalog.from_config``, whose datasets are created only when loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

_PATH_KEYS = ("filepath", "path", "filename")


@dataclass(frozen=True)
class ProjectConfig:
    """What a command needs of a bootstrapped project's configuration.

    Attributes:
        project_path: The project root; relative dataset paths resolve against it.
        catalog_config: The catalog entries, paths made absolute.
        credentials: ``credentials*.yml`` of the environment (empty when absent).
        params: The merged parameters (``params:<group>`` of a pipeline run).
    """

    project_path: Path
    catalog_config: dict[str, Any]
    credentials: dict[str, Any]
    params: dict[str, Any]

    def catalog(self) -> Any:
        """A ``DataCatalog`` of the entries (each dataset built when first used)."""
        from kedro.io import DataCatalog  # noqa: PLC0415

        return DataCatalog.from_config(self.catalog_config, self.credentials)


def read_project_config(project_path: Path, env: str | None) -> ProjectConfig:
    """Read the catalog, credentials and parameters of ``env`` as ``kedro run`` does.

    Call it after ``bootstrap_project(project_path)``, which loads ``settings.py``.

    Args:
        project_path: Root of the Kedro project (absolute).
        env: Configuration environment, e.g. ``gpu`` or ``stackexchange+gpu``
            (None: the settings' default run environment).

    Returns:
        The project's configuration.
    """
    from kedro.config import MissingConfigException  # noqa: PLC0415
    from kedro.framework.project import settings  # noqa: PLC0415

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(project_path / settings.CONF_SOURCE),
        env=env,
        **settings.CONFIG_LOADER_ARGS,
    )
    try:
        credentials = dict(loader["credentials"])
    except MissingConfigException:
        credentials = {}
    catalog_config = {
        name: _absolute_paths(project_path, entry)
        for name, entry in loader["catalog"].items()
    }
    return ProjectConfig(
        project_path=project_path,
        catalog_config=catalog_config,
        credentials=credentials,
        params=dict(loader["parameters"]),
    )


def _absolute_paths(project_path: Path, entry: Any) -> Any:
    """``entry`` with relative local paths resolved against the project root.

    The catalog's paths are relative to the project, while a command may run from
    any folder; URLs (``s3://...``) and absolute paths are kept as they are.
    """
    if not isinstance(entry, dict):
        return entry
    resolved = {}
    for key, value in entry.items():
        if isinstance(value, dict):
            resolved[key] = _absolute_paths(project_path, value)
        elif key in _PATH_KEYS and isinstance(value, str) and _is_local_relative(value):
            resolved[key] = (project_path / value).as_posix()
        else:
            resolved[key] = value
    return resolved


def _is_local_relative(path: str) -> bool:
    return (
        "://" not in path
        and not PurePosixPath(path).is_absolute()
        and not PureWindowsPath(path).drive
    )

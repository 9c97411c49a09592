"""Shared fixtures.

``project_copy`` gives tests that run pipelines a throw-away copy of the project, so
that nothing is written into the repository's ``data/`` folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# Session fixtures of the LLM recommender tests (tiny trained adapter).
pytest_plugins = ["tests.llm_fixtures"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_LAYERS = (
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")


def copy_project(destination: Path) -> Path:
    """Copy what a Kedro run needs into ``destination`` and return it.

    Copies ``conf/`` (except ``conf/local``, replaced by an empty folder so that a
    developer's local overrides cannot change test results), ``data/01_raw``,
    ``pyproject.toml`` and ``src/`` (Kedro checks that the source folder exists
    inside the project), and creates empty ``data/02_*`` ... ``data/08_*`` folders.
    """
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        PROJECT_ROOT / "conf",
        destination / "conf",
        ignore=shutil.ignore_patterns("local"),
    )
    (destination / "conf" / "local").mkdir()
    shutil.copytree(PROJECT_ROOT / "data" / "01_raw", destination / "data" / "01_raw")
    shutil.copytree(PROJECT_ROOT / "src", destination / "src", ignore=_IGNORE)
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", destination / "pyproject.toml")
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    return destination


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a fresh copy of the project (see :func:`copy_project`)."""
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return copy_project(tmp_path / "project")

"""A run that imports a site and reads the import is refused before any node runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.importers.run_guard import check_import_run
from expert_kedro.pipeline_registry import register_pipelines
from tests.importers import tiny_site


@pytest.fixture(scope="module")
def pipelines():
    return register_pipelines()


@pytest.mark.parametrize("reader", ["data_processing", "training", "__default__"])
def test_import_with_its_readers_is_refused(pipelines, reader):
    with pytest.raises(ValueError) as error:
        check_import_run(pipelines["stackexchange_import"] + pipelines[reader])
    message = str(error.value)
    assert "stackexchange_expert_data (read as expert_data_raw)" in message
    assert "--pipelines=stackexchange_import" in message


@pytest.mark.parametrize(
    "name", ["stackexchange_import", "data_processing", "training", "evaluation_llm"]
)
def test_each_pipeline_on_its_own_runs(pipelines, name):
    check_import_run(pipelines[name])  # no error


def test_a_combined_kedro_run_stops_before_any_node(project_copy: Path):
    """In a real session: the error, and no file written by either pipeline."""
    tiny_site.write_site(project_copy / "data/01_raw/stackexchange/tiny")
    before = {p for p in (project_copy / "data").rglob("*") if p.is_file()}
    bootstrap_project(project_copy)
    with (
        KedroSession.create(
            project_path=project_copy,
            env="stackexchange",
            runtime_params={"stackexchange": tiny_site.PARAMS},
        ) as session,
        pytest.raises(ValueError, match="Import first, on its own"),
    ):
        session.run(pipeline_names=["stackexchange_import", "data_processing"])
    after = {p for p in (project_copy / "data").rglob("*") if p.is_file()}
    assert after == before

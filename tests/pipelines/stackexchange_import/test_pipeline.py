"""stackexchange_import in a real KedroSession, on a tiny site in a project copy.

Also checks the ``stackexchange`` environment's catalog: data_processing reads the
imported files and no dataset a pipeline writes shares a path with the synthetic
run or with another site.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from expert_kedro.importers.stackexchange import ATTRIBUTION
from tests.conftest import PROJECT_ROOT
from tests.importers import tiny_site

RUNTIME = {"stackexchange": tiny_site.PARAMS}
# Read-only inputs and the site-independent base model, shared on purpose.
SHARED = {"new_agendas", "base_model_source", "base_model_cache", "base_model"}


def _latest(project: Path, relative: str) -> Path:
    name = Path(relative).name
    versions = sorted((project / relative).glob(f"*/{name}"))
    assert len(versions) == 1, f"expected one version of {relative}: {versions}"
    return versions[0]


def _run(project: Path, pipeline: str, runtime: dict) -> None:
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env="stackexchange", runtime_params=runtime
    ) as session:
        session.run(pipeline_names=[pipeline])


@pytest.fixture
def tiny_project(project_copy: Path) -> Path:
    tiny_site.write_site(project_copy / "data/01_raw/stackexchange/tiny")
    return project_copy


def _files(project: Path) -> set[Path]:
    return {
        p.relative_to(project) for p in (project / "data").rglob("*") if p.is_file()
    }


def test_import_writes_versioned_raw_files_and_a_data_card(tiny_project: Path):
    before = _files(tiny_project)
    _run(tiny_project, "stackexchange_import", RUNTIME)
    site = tiny_project / "data/01_raw/stackexchange/tiny/import"
    rows = pd.read_csv(
        _latest(site, "expert_data.csv"), dtype=str, keep_default_na=False
    )
    experts = pd.read_csv(
        _latest(site, "experts.csv"), dtype=str, keep_default_na=False
    )
    assert experts["expert_id"].tolist() == ["1", "2", "3"]
    assert len(rows) == 4 and set(rows["project_id"]) == {"70", "90", "120"}
    reporting = tiny_project / "data/08_reporting/stackexchange/tiny"
    card = _latest(reporting, "data_card.md").read_text(encoding="utf-8")
    assert ATTRIBUTION in card and "id up to 60" in card
    report = json.loads(_latest(reporting, "import_report.json").read_text())
    assert report["projects"]["dropped_no_roster_answerer"] == 3
    # Every new file lies in a folder of the tiny site: nothing else was written.
    new = _files(tiny_project) - before
    assert len(new) == 4
    assert all("stackexchange/tiny/" in path.as_posix() for path in new), new


def test_missing_source_file_is_named(tiny_project: Path):
    (tiny_project / "data/01_raw/stackexchange/tiny/Record_All.json").unlink()
    with pytest.raises(DatasetError, match=r"stackexchange/tiny/Record_All\.json"):
        _run(tiny_project, "stackexchange_import", RUNTIME)


def test_malformed_source_line_is_named(tiny_project: Path):
    titles = tiny_project / "data/01_raw/stackexchange/tiny/Q_title.txt"
    titles.write_text(titles.read_text() + "x1 broken line\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tiny/Q_title\.txt line 13: expected"):
        _run(tiny_project, "stackexchange_import", RUNTIME)


def _catalog(env: str, site: str | None) -> dict:
    runtime = {"stackexchange": {"site": site}} if site else {}
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env="local",
        env=env,
        runtime_params=runtime,
        merge_strategy={"parameters": "soft", "catalog": "soft"},
    )
    return dict(loader["catalog"])


def _paths(catalog: dict) -> dict[str, str]:
    return {
        name: entry.get("filepath") or entry.get("path")
        for name, entry in catalog.items()
        if entry.get("filepath") or entry.get("path")
    }


def test_environment_keeps_every_written_dataset_per_site():
    synthetic = {
        name: path
        for name, path in _paths(_catalog("base", None)).items()
        if "/stackexchange/" not in path
    }
    dba, history = (
        _paths(_catalog("stackexchange", "dba")),
        _paths(_catalog("stackexchange", "history")),
    )
    assert (
        dba["expert_data_raw"] == "data/01_raw/stackexchange/dba/import/expert_data.csv"
    )
    assert (
        dba["expert_reference_roster"]
        == "data/01_raw/stackexchange/dba/import/experts.csv"
    )
    assert _catalog("stackexchange", "dba")["expert_reference_roster"]["versioned"]
    not_per_site = sorted(
        name
        for name, path in dba.items()
        if name not in SHARED and "/stackexchange/dba/" not in path
    )
    assert not not_per_site, (
        f"datasets the stackexchange env does not move: {not_per_site}"
    )
    clashes = sorted(n for n in dba if n not in SHARED and dba[n] in synthetic.values())
    assert not clashes, f"stackexchange paths equal to synthetic ones: {clashes}"
    assert all(dba[n] != history[n] for n in dba if n not in SHARED)


def test_environment_parameters_follow_the_site():
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env="local",
        env="stackexchange",
        runtime_params={"stackexchange": {"site": "history"}},
        merge_strategy={"parameters": "soft", "catalog": "soft"},
    )
    params = loader["parameters"]
    assert params["stackexchange"]["site"] == "history"
    assert params["stackexchange"]["roster_size"] == 150
    checkpoints = params["model_training"]["training"]["checkpoint_dir"]
    assert checkpoints == "data/06_models/stackexchange/history/checkpoints"
    assert params["recommender"]["candidate_region"] is False
    assert params["recommender"]["candidate_activity"] == 50
    assert params["recommender"]["mode"] == "rerank"  # soft merge keeps base keys

"""data_processing + augmentation on the shipped data, in a copy of the project."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.training_data.formatting import parse_expert_line
from tests.conftest import copy_project

VERSIONED_OUTPUTS = {
    "data/02_intermediate/clean_matches.parquet": 1590,
    "data/03_primary/expert_roster.parquet": 150,
    "data/03_primary/project_splits.parquet": 1383,
    "data/03_primary/train_pairs.parquet": None,
    "data/03_primary/validation_pairs.parquet": None,
    "data/03_primary/test_pairs.parquet": None,
    "data/03_primary/validation_projects.parquet": None,
    "data/03_primary/test_projects.parquet": None,
    "data/04_feature/augmented_train_pairs.parquet": None,
    "data/04_feature/augmented_validation_pairs.parquet": None,
}


SPLIT_DIGEST = "bcaa202c5d50f9995fc54f36fa7e4a1016f02a7e2597daa86df77a2d1792866b"


def _versions(project: Path, relative: str) -> list[Path]:
    """Files saved under a versioned dataset path, one per version folder."""
    name = Path(relative).name
    return sorted((project / relative).glob(f"*/{name}"))


def _load(project: Path, relative: str) -> pd.DataFrame:
    (latest,) = _versions(project, relative)[-1:]
    return pd.read_parquet(latest)


@pytest.fixture(scope="module")
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run both pipelines once through a KedroSession; shared by the checks below."""
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    project = copy_project(tmp_path_factory.mktemp("session") / "project")
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "augmentation"])
    return project


def test_versioned_outputs_and_row_counts(ran_project: Path):
    for relative, rows in VERSIONED_OUTPUTS.items():
        versions = _versions(ran_project, relative)
        assert len(versions) == 1, relative
        if rows is not None:
            assert len(pd.read_parquet(versions[0])) == rows, relative
    pairs = {
        s: _load(ran_project, f"data/03_primary/{s}_pairs.parquet")
        for s in ("train", "validation", "test")
    }
    assert sum(len(p) for p in pairs.values()) == 1590
    ids = [set(p["project_id"]) for p in pairs.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for frame in pairs.values():
        assert all(
            parse_expert_line(out).expert_id == eid
            for out, eid in zip(frame["output"], frame["expert_id"], strict=True)
        )
    test_projects = _load(ran_project, "data/03_primary/test_projects.parquet")
    assert set(test_projects["project_id"]) == ids[2]
    assert sum(len(a) for a in test_projects["acceptable_expert_ids"]) == len(
        pairs["test"]
    )


def test_quality_report_contents(ran_project: Path):
    (path,) = _versions(ran_project, "data/08_reporting/data_quality_report.json")
    report = json.loads(path.read_text())
    cleaning = report["cleaning"]
    assert cleaning["rows_in"] == 1600
    assert cleaning["exact_duplicate_rows_removed"] == 10
    assert cleaning["rows_out"] == 1590
    assert sum(cleaning["row_actions"].values()) == 1600
    assert cleaning["invalid_id_rows_dropped"] == 0
    # The 5 truncated answer lists kept 1/4, 3/6, 2/4, 2/3 and 2/7 answers: partly
    # recovered, 14 answers lost; "recovered" cells lost nothing.
    answers = cleaning["json_cells"]["project_agenda_responses"]
    assert answers["defects"]["truncated"] == {
        "recovered": 0,
        "partly_recovered": 5,
        "dropped": 0,
        "items_lost": 14,
    }
    assert answers["items_lost"] == 14 and answers["cells_with_uncounted_loss"] == 0
    assert cleaning["row_actions"]["partly_recovered"] == 5
    truncated_agendas = cleaning["json_cells"]["agenda"]["defects"]["truncated"]
    assert truncated_agendas["partly_recovered"] == 5
    assert cleaning["agendas_truncated_in_cell_but_complete_elsewhere"] == 5
    agenda = cleaning["json_cells"]["agenda"]["defects"]
    for kind in (
        "python_literal",
        "trailing_comma",
        "double_encoded",
        "truncated",
        "html_entity",
        "stray_whitespace",
        "raw_newline_in_json",
        "empty_cell",
        "placeholder",
        "empty_list",
    ):
        assert sum(agenda[kind].values()) > 0, kind
    # Every unusable agenda cell was recovered from another source.
    assert cleaning["agenda_resolution"]["unusable"] == 0
    assert report["roster"]["experts_in_roster"] == 150
    assert report["roster"]["name_conflicts"] == {}
    assert report["roster"]["experts_missing_from_reference"] == {}
    split = report["split"]
    assert sum(split["projects_per_split"].values()) == 1383
    assert split["identical_agenda_groups"] == []
    assert report["pairs"]["output_format"] == "profile"


def test_shipped_split_is_the_one_integer_ids_got(ran_project: Path):
    """Ids became text; the seeded split of the shipped export did not move.

    The digest is that of ``project_splits`` (``project_id,split`` lines, in file
    order) written by the pipeline when ids were parsed as integers.
    """
    splits = _load(ran_project, "data/03_primary/project_splits.parquet")
    assert all(isinstance(p, str) for p in splits["project_id"])
    lines = "".join(f"{p},{s}\n" for p, s in splits.itertuples(index=False))
    assert hashlib.sha256(lines.encode()).hexdigest() == SPLIT_DIGEST


def test_augmentation_outputs(ran_project: Path):
    train = _load(ran_project, "data/03_primary/train_pairs.parquet")
    augmented = _load(ran_project, "data/04_feature/augmented_train_pairs.parquet")
    counts = augmented["source"].value_counts().to_dict()
    assert counts["original"] == len(train)
    assert counts["partial"] > len(train)
    report = json.loads(
        (ran_project / "data/08_reporting/augmentation_report.json").read_text()
    )
    assert report["splits"]["train"]["examples_by_source"] == counts
    validation = _load(ran_project, "data/03_primary/validation_pairs.parquet")
    augmented_val = _load(
        ran_project, "data/04_feature/augmented_validation_pairs.parquet"
    )
    assert len(augmented_val) == len(validation)


def _files(project: Path) -> dict[str, str]:
    """Every file under the output layers, relative path -> SHA-256."""
    return {
        str(path.relative_to(project)): hashlib.sha256(path.read_bytes()).hexdigest()
        for layer in ("02_intermediate", "03_primary", "04_feature", "08_reporting")
        for path in sorted((project / "data" / layer).rglob("*"))
        if path.is_file()
    }


def test_second_run_adds_versions_and_keeps_the_first(
    ran_project: Path, tmp_path: Path
):
    """Versioned outputs are never overwritten: a second ``data_processing`` run
    writes a new version of each, leaves every earlier file byte-identical, and
    (seeded) writes the same tables again."""
    project = copy_project(tmp_path / "project")
    for layer in ("02_intermediate", "03_primary", "04_feature", "08_reporting"):
        shutil.rmtree(project / "data" / layer)
        shutil.copytree(ran_project / "data" / layer, project / "data" / layer)
    before = _files(project)
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing"])
    after = _files(project)
    assert {path: after.get(path) for path in before} == before
    for relative in VERSIONED_OUTPUTS:
        versions = _versions(project, relative)
        if "04_feature" in relative:  # augmentation did not run again
            assert len(versions) == 1, relative
            continue
        assert len(versions) == 2, relative
        first, second = (pd.read_parquet(v) for v in versions)
        pd.testing.assert_frame_equal(first, second, check_like=False)
    reports = _versions(project, "data/08_reporting/data_quality_report.json")
    assert len(reports) == 2


@pytest.mark.parametrize(
    "flag", ["--pipeline=data_processing", "--pipelines=data_processing"]
)
def test_cli_run(project_copy: Path, flag: str):
    kedro = Path(sys.executable).with_name("kedro")
    command = [str(kedro)] if kedro.exists() else [shutil.which("kedro") or "kedro"]
    result = subprocess.run(
        [*command, "run", flag],
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_versions(project_copy, "data/03_primary/train_pairs.parquet")) == 1
    assert (
        len(_versions(project_copy, "data/08_reporting/data_quality_report.json")) == 1
    )
    assert not (project_copy / "data/04_feature/augmented_train_pairs.parquet").exists()

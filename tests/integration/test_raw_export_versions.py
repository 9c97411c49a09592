"""New versions of the raw export, run as a new user would: a KedroSession per case.

Each test drops a modified copy of the shipped export into a new version folder of
``expert_data_raw`` (and, where needed, a modified ``experts.csv``) in a throw-away
project, runs ``data_processing`` and checks that the case ends in a clear, named
error or in a counted, logged repair; never a silent rewrite or drop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import DatasetError

RAW = Path("data/01_raw/expert_data.csv")
NEW_VERSION = "2027-01-01T00.00.00.000Z"


def _shipped(project: Path) -> pd.DataFrame:
    (latest,) = sorted((project / RAW).glob("*/expert_data.csv"))[-1:]
    return pd.read_csv(latest, dtype=str, keep_default_na=False)


def _reference(project: Path) -> pd.DataFrame:
    return pd.read_csv(
        project / "data/01_raw/experts.csv", dtype=str, keep_default_na=False
    )


def _new_export(project: Path, raw: pd.DataFrame | str, sep: str = ",") -> None:
    folder = project / RAW / NEW_VERSION
    folder.mkdir(parents=True)
    if isinstance(raw, str):
        (folder / "expert_data.csv").write_text(raw)
    else:
        raw.to_csv(folder / "expert_data.csv", index=False, sep=sep)


@contextmanager
def _project_log() -> Iterator[list[str]]:
    """Messages logged by the project's code (Kedro sets up its own handlers)."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler, logger = _Collect(level=logging.INFO), logging.getLogger("expert_kedro")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _json_list(raw: pd.DataFrame, project_id: str) -> list | None:
    """The project's agenda when every row holds the same clean JSON list."""
    cells = set(raw.loc[raw["project_id"] == project_id, "agenda"])
    if len(cells) != 1:
        return None
    try:
        agenda = json.loads(cells.pop())
    except ValueError:
        return None
    ok = isinstance(agenda, list) and agenda
    return agenda if ok and all(q == " ".join(q.split()) for q in agenda) else None


def _run(project: Path) -> None:
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing"])


def _output(project: Path, relative: str) -> pd.DataFrame:
    name = Path(relative).name
    (latest,) = sorted((project / relative).glob(f"*/{name}"))[-1:]
    return pd.read_parquet(latest)


def _report(project: Path) -> dict:
    folder = project / "data/08_reporting/data_quality_report.json"
    (latest,) = sorted(folder.glob("*/data_quality_report.json"))[-1:]
    return json.loads(latest.read_text())


def test_ids_are_never_rewritten(project_copy: Path):
    raw, ref = _shipped(project_copy), _reference(project_copy)
    projects = raw["project_id"].drop_duplicates().tolist()
    assert "210000" not in projects
    # Ids a number parser rewrites (2.1e5 -> 210000, 43119.9 -> 43119) or merges,
    # given to projects whose agenda cells are clean JSON (to compare with below).
    clean = [p for p in projects if _json_list(raw, p)][:4]
    renamed = dict(zip(clean, ["2.1e5", "210000", "43119.9", "43119"]))
    raw["project_id"] = raw["project_id"].replace(renamed)
    experts = dict(zip(ref["expert_id"][:2], ["0042", "A-17"]))
    raw["expert_id"] = raw["expert_id"].replace(experts)
    ref["expert_id"] = ref["expert_id"].replace(experts)
    _new_export(project_copy, raw)
    ref.to_csv(project_copy / "data/01_raw/experts.csv", index=False)

    _run(project_copy)

    matches = _output(project_copy, "data/02_intermediate/clean_matches.parquet")
    assert matches["project_id"].nunique() == len(projects)
    for project_id in renamed.values():
        rows = matches[matches["project_id"] == project_id]
        assert len(rows) >= 1, project_id
        assert _json_list(raw, project_id) == list(rows["agenda"].iloc[0])
    roster = _output(project_copy, "data/03_primary/expert_roster.parquet")
    assert {"0042", "A-17"} <= set(roster["expert_id"]) and len(roster) == 150
    assert roster["listed_in_reference"].all()
    splits = _output(project_copy, "data/03_primary/project_splits.parquet")
    assert set(renamed.values()) <= set(splits["project_id"])
    pairs = pd.concat(
        _output(project_copy, f"data/03_primary/{split}_pairs.parquet")
        for split in ("train", "validation", "test")
    )
    assert set(pairs["project_id"]) == set(splits["project_id"])
    for expert_id in ("0042", "A-17"):
        outputs = pairs.loc[pairs["expert_id"] == expert_id, "output"]
        assert len(outputs) and all(f"(ID {expert_id})\n" in o for o in outputs)
    held_out = pd.concat(
        _output(project_copy, f"data/03_primary/{split}_projects.parquet")
        for split in ("validation", "test")
    )
    acceptable = {e for ids in held_out["acceptable_expert_ids"] for e in ids}
    assert acceptable <= set(roster["expert_id"])
    assert all(isinstance(p, str) for p in held_out["project_id"])
    assert _report(project_copy)["cleaning"]["invalid_id_rows_dropped"] == 0


def test_unusable_ids_are_dropped_counted_and_named(project_copy: Path):
    raw = _shipped(project_copy)
    raw.loc[3, "expert_id"] = ""
    raw.loc[50, "project_id"] = "N/A"
    raw.loc[700, "project_id"] = "   "
    raw.loc[1200, "expert_id"] = "null"
    _new_export(project_copy, raw)

    with _project_log() as log:
        _run(project_copy)

    cleaning = _report(project_copy)["cleaning"]
    assert cleaning["invalid_id_rows_dropped"] == 4
    assert [(r["row"], r["reason"]) for r in cleaning["invalid_id_rows"]] == [
        (4, "expert_id empty"),
        (51, "project_id placeholder 'N/A'"),
        (701, "project_id empty"),
        (1201, "expert_id placeholder 'null'"),
    ]
    assert cleaning["invalid_id_rows"][1]["expert_id"] == raw.loc[50, "expert_id"]
    assert sum(cleaning["row_actions"].values()) == cleaning["rows_in"] == len(raw)
    warning = next(m for m in log if "dropping 4 row(s)" in m)
    assert "row 4: expert_id empty" in warning
    assert "row 1201: expert_id placeholder 'null'" in warning


def test_header_only_export_is_a_clear_error(project_copy: Path):
    header = ",".join(_shipped(project_copy).columns) + "\n"
    _new_export(project_copy, header)
    with pytest.raises(ValueError, match="no data rows: the file holds a header only"):
        _run(project_copy)


def test_semicolon_export_names_the_delimiter(project_copy: Path):
    _new_export(project_copy, _shipped(project_copy), sep=";")
    with pytest.raises(DatasetError) as error:
        _run(project_copy)
    message = str(error.value)
    assert "expert_data.csv" in message
    assert "looks ';'-delimited" in message
    assert "load_args.sep: ';'" in message


def test_expert_missing_from_reference_is_flagged_and_named(project_copy: Path):
    raw, ref = _shipped(project_copy), _reference(project_copy)
    # One match of a reference expert arrives under an id experts.csv lacks, with
    # that expert's name: most likely a mistyped id.
    first = raw.index[raw["expert_id"] == ref["expert_id"].iloc[0]][0]
    raw.loc[first, "expert_id"] = "99999"
    _new_export(project_copy, raw)

    with _project_log() as log:
        _run(project_copy)

    roster = _output(project_copy, "data/03_primary/expert_roster.parquet")
    flagged = roster.loc[~roster["listed_in_reference"], "expert_id"].tolist()
    assert flagged == ["99999"] and len(roster) == 151
    missing = _report(project_copy)["roster"]["experts_missing_from_reference"]
    assert list(missing) == ["99999"]
    assert missing["99999"]["reference_namesakes"] == [ref["expert_id"].iloc[0]]
    assert any("'99999' (missing from experts.csv) carries the name" in m for m in log)

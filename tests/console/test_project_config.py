"""The CLI's session-free configuration reads what a Kedro session reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from expert_kedro.console.project_config import read_project_config
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize("env", [None, "gpu", "stackexchange+gpu"])
def test_same_parameters_and_catalog_as_a_session(env, monkeypatch, tmp_path):
    bootstrap_project(PROJECT_ROOT)
    monkeypatch.chdir(tmp_path)  # a command may run from any folder
    config = read_project_config(PROJECT_ROOT, env)
    with KedroSession.create(project_path=PROJECT_ROOT, env=env) as session:
        context = session.load_context()
        assert config.params == context.config_loader["parameters"]
        catalog = config.catalog()
        for name in ("lora_adapter", "retrieval_index", "expert_roster"):
            ours = catalog.get(name)
            theirs = context.catalog.get(name)
            assert type(ours) is type(theirs)
            ours, theirs = ours._describe(), theirs._describe()  # noqa: SLF001
            # The save version is each catalog's own timestamp.
            ours.pop("version", None), theirs.pop("version", None)
            assert ours == theirs


def test_relative_paths_resolve_against_the_project_and_urls_stay():
    bootstrap_project(PROJECT_ROOT)
    config = read_project_config(PROJECT_ROOT, None)
    roster = config.catalog_config["expert_roster"]["filepath"]
    assert Path(roster).is_absolute()
    assert Path(roster).is_relative_to(PROJECT_ROOT)

    from expert_kedro.console.project_config import _absolute_paths  # noqa: PLC0415

    entry = {"type": "x", "filepath": "s3://bucket/a.csv", "load_args": {"path": "b"}}
    resolved = _absolute_paths(Path("/p"), entry)
    assert resolved["filepath"] == "s3://bucket/a.csv"
    assert resolved["load_args"]["path"] == "/p/b"

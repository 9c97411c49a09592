"""The CLI's session-free configuration reads what a Kedro session reads.

Each comparison runs in its own interpreter: bootstrapping the repository's own
project in the test process would re-configure logging for the tests after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expert_kedro.console.project_config import _absolute_paths
from tests.conftest import PROJECT_ROOT

COMPARE = """
import json, sys
from pathlib import Path
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from expert_kedro.console.project_config import read_project_config

root, env = Path(sys.argv[1]), (sys.argv[2] or None)
bootstrap_project(root)
config = read_project_config(root, env)
catalog = config.catalog()
with KedroSession.create(project_path=root, env=env) as session:
    context = session.load_context()
    same = {"params": config.params == context.config_loader["parameters"]}
    for name in ("lora_adapter", "retrieval_index", "expert_roster"):
        ours, theirs = catalog.get(name), context.catalog.get(name)
        a, b = ours._describe(), theirs._describe()
        a.pop("version", None), b.pop("version", None)  # each catalog's timestamp
        same[name] = type(ours) is type(theirs) and a == b
print(json.dumps({"same": same, "roster": config.catalog_config["expert_roster"]}))
"""


@pytest.mark.parametrize("env", [None, "gpu", "stackexchange+gpu"])
def test_same_parameters_and_catalog_as_a_session(env, tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", COMPARE, str(PROJECT_ROOT), env or ""],
        cwd=tmp_path,  # a command may run from any folder
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert all(result["same"].values()), result["same"]
    roster = Path(result["roster"]["filepath"])
    assert roster.is_absolute()
    assert roster.is_relative_to(PROJECT_ROOT)


def test_urls_stay_and_nested_relative_paths_resolve():
    entry = {"type": "x", "filepath": "s3://bucket/a.csv", "load_args": {"path": "b"}}
    resolved = _absolute_paths(Path("/p"), entry)
    assert resolved["filepath"] == "s3://bucket/a.csv"
    assert resolved["load_args"]["path"] == "/p/b"

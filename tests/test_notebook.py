"""The exploration notebook, ``kedro ipython`` and ``kedro jupyter``, in a project copy.

The notebook is executed headlessly by nbclient in a plain IPython kernel started in
the copy's ``notebooks/`` folder: its first cell loads Kedro's IPython extension,
which finds the project and defines ``catalog``, ``context``, ``pipelines`` and
``session``, exactly as ``kedro jupyter lab`` does. The numbers it prints are
checked against the pipeline outputs read here with pandas. Jupyter/IPython state
(kernel specs, runtime files, history) goes to temporary folders.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import requests
import yaml
from kedro.config import OmegaConfigLoader
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT, copy_project
from tests.test_viz_build import free_port, offline_env, stop_process_group

NOTEBOOK = PROJECT_ROOT / "notebooks" / "exploration.ipynb"
# Overrides for a run shrunk to seconds: enough to produce every training output the
# notebook reads (tokenized data, history, adapter) and a live recommendation, not a
# useful model. Written to the copy's conf/local, so they apply to the training
# session and to the notebook's Kedro session alike.
TINY_OVERRIDES = {
    "model_training": {
        "max_train_examples": 1,
        "max_validation_examples": 1,
        # Full-precision LoRA: several times faster than 4-bit on CPU; QLoRA itself
        # is tested with model_training.
        "quantization": {"load_in_4bit": False},
        "training": {
            "max_steps": 1,
            "eval_steps": 100,
            "logging_steps": 1,
            "save_steps": 100,
            "per_device_train_batch_size": 1,
            "gradient_accumulation_steps": 1,
        },
    },
    # No partial agendas: rerank_pairs mines hard negatives for every training
    # agenda, and the original ones are enough for a one-step adapter.
    "augmentation": {"splits": []},
    # A fixed fusion weight: no tuning pass over the validation agendas.
    "evaluation": {"hybrid": {"bm25_weight": 0.5}},
    "retrieval": {"hybrid": {"bm25_weight": 0.5}, "prior": {"weight": 0.0}},
    "recommender": {"candidates": 4, "top_k": 3},
}
TRAIN_COMMAND = "kedro run --pipelines=training"
KERNEL_NAME = "kedro_expert_kedro"


def _latest(project: Path, relative: str) -> Path:
    """Newest version of a versioned dataset file (or the file itself)."""
    path = project / relative
    versions = sorted(path.glob(f"*/{path.name}")) if path.is_dir() else [path]
    assert versions, f"{relative} was not produced"
    return versions[-1]


@pytest.fixture(scope="module")
def jupyter_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Jupyter/IPython folders under tmp: tests never touch ~/.local or ~/.ipython."""
    root = tmp_path_factory.mktemp("jupyter")
    return {
        "JUPYTER_DATA_DIR": str(root / "data"),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
    }


def project_env(jupyter_dirs: dict[str, str]) -> dict[str, str]:
    """Offline environment whose PATH starts with this venv (kedro calls ipython)."""
    env = offline_env()
    env.update(jupyter_dirs)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _project_with_notebook(root: Path) -> Path:
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    project = copy_project(root / "project")
    (project / "notebooks").mkdir()
    shutil.copy2(NOTEBOOK, project / "notebooks" / NOTEBOOK.name)
    bootstrap_project(project)
    return project


@pytest.fixture(scope="module")
def data_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after data_processing + augmentation, with the notebook."""
    project = _project_with_notebook(tmp_path_factory.mktemp("notebook"))
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["data_processing", "augmentation"])
    return project


def _deep_update(base: dict, overrides: dict) -> dict:
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return base


def write_local_overrides(project: Path, overrides: dict) -> None:
    """Put ``overrides`` in conf/local as whole top-level parameter groups.

    Each group is written in full (the base group with the overrides merged in), so
    the result is the same whether the config loader merges environments softly or
    replaces whole groups.
    """
    loader = OmegaConfigLoader(
        conf_source=str(project / "conf"), base_env="base", default_run_env="base"
    )
    params = loader["parameters"]
    groups = {key: _deep_update(params[key], value) for key, value in overrides.items()}
    (project / "conf" / "local" / "parameters_tiny.yml").write_text(
        yaml.safe_dump(groups, sort_keys=False)
    )


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after a tiny ``training`` run (adapter included)."""
    project = _project_with_notebook(tmp_path_factory.mktemp("trained"))
    write_local_overrides(project, TINY_OVERRIDES)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["training"])
    return project


def execute_notebook(
    project: Path, jupyter_dirs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run every cell of the project's notebook; an error in any cell fails the test."""
    for key, value in jupyter_dirs.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(project / "notebooks" / NOTEBOOK.name, as_version=4)
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(project / "notebooks")}},
    ).execute()
    return notebook


def _texts(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            parts.append(output["text"])
        elif "text/markdown" in output.get("data", {}):
            parts.append(output["data"]["text/markdown"])
    return "".join(parts)


def _cell(notebook: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return cell


def _images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert notebook.metadata["kernelspec"]["name"] == KERNEL_NAME


def test_notebook_explores_the_data_and_explains_missing_training(
    data_project: Path, jupyter_dirs, monkeypatch: pytest.MonkeyPatch
):
    notebook = execute_notebook(data_project, jupyter_dirs, monkeypatch)

    setup = _texts(_cell(notebook, "setup"))
    assert f"project: {data_project}" in setup
    assert "'training'" in setup and "'inference'" in setup

    report = json.loads(
        _latest(data_project, "data/08_reporting/data_quality_report.json").read_text()
    )["cleaning"]
    assert f"rows: {report['rows_in']} raw -> {report['rows_out']} clean" in _texts(
        _cell(notebook, "data-quality")
    )

    matches = pd.read_parquet(
        _latest(data_project, "data/02_intermediate/clean_matches.parquet")
    )
    lengths = matches.drop_duplicates("project_id")["agenda"].map(len)
    cell = _cell(notebook, "agenda-lengths")
    assert (
        f"agenda_lengths: projects={len(lengths)} mean={lengths.mean():.2f} "
        f"min={lengths.min()} max={lengths.max()}"
    ) in _texts(cell)
    assert _images(cell) == 1

    per_expert = matches.groupby("expert_id").size().sort_values(ascending=False)
    roster = pd.read_parquet(
        _latest(data_project, "data/03_primary/expert_roster.parquet")
    )
    share = per_expert.head(len(roster) // 10).sum() / per_expert.sum()
    cell = _cell(notebook, "expert-popularity")
    assert (
        f"expert_popularity: experts={len(roster)} "
        f"never_matched={len(roster) - len(per_expert)} top_10pct_share={share:.3f}"
    ) in _texts(cell)
    assert _images(cell) == 1

    train = pd.read_parquet(
        _latest(data_project, "data/03_primary/train_pairs.parquet")
    )
    augmented = pd.read_parquet(
        _latest(data_project, "data/04_feature/augmented_train_pairs.parquet")
    )
    partial = int((augmented["source"] == "partial").sum())
    assert partial > 0
    cell = _cell(notebook, "augmentation")
    assert (
        f"augmentation: train_pairs={len(train)} augmented={len(augmented)} "
        f"partial={partial}"
    ) in _texts(cell)
    assert _images(cell) == 1

    for tag in ("tokenized", "training-curves", "recommendation"):
        text = _texts(_cell(notebook, tag))
        assert TRAIN_COMMAND in text, (tag, text)


@pytest.mark.slow
def test_notebook_with_a_trained_adapter(
    trained_project: Path, jupyter_dirs, monkeypatch: pytest.MonkeyPatch
):
    from datasets import load_from_disk

    notebook = execute_notebook(trained_project, jupyter_dirs, monkeypatch)

    tokenized = load_from_disk(
        str(_latest(trained_project, "data/05_model_input/tokenized_train"))
    )
    text = _texts(_cell(notebook, "tokenized"))
    assert f"tokenized_train: examples={len(tokenized)} " in text
    trained_text = text.split("--- tokens with a loss ---", 1)[1].strip()
    assert trained_text, text

    history = json.loads(
        _latest(trained_project, "data/08_reporting/training_history.json").read_text()
    )
    cell = _cell(notebook, "training-curves")
    assert (
        f"training_history: logged_steps={len(history['steps'])} "
        f"evals={len(history['eval'])} "
    ) in _texts(cell)
    assert history["steps"] and _images(cell) == 1

    cell = _cell(notebook, "recommendation")
    text = _texts(cell)
    assert TRAIN_COMMAND not in text
    rows = int(re.search(r"recommendations: rows=(\d+)", text).group(1))
    assert rows == TINY_OVERRIDES["recommender"]["top_k"]
    roster = pd.read_parquet(
        _latest(trained_project, "data/03_primary/expert_roster.parquet")
    )
    shown = "".join(
        o["data"].get("text/plain", "") for o in cell.outputs if "data" in o
    )
    named = [name for name in roster["expert_name"] if name in shown]
    assert len(named) >= min(rows, 3), shown


def test_kedro_ipython_starts_in_the_project(data_project: Path, jupyter_dirs):
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "ipython", "--no-confirm-exit"],
        input="print('DATASETS', sorted(catalog.keys()))\n"
        "print('PIPELINES', sorted(pipelines))\n",
        cwd=data_project,
        env=project_env(jupyter_dirs),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    datasets = re.search(r"DATASETS (\[.*\])", output)
    assert datasets, output[-3000:]
    names = set(json.loads(datasets.group(1).replace("'", '"')))
    assert {"expert_data_raw", "clean_matches", "train_pairs"} <= names
    assert "'training'" in re.search(r"PIPELINES (\[.*\])", output).group(1)


def test_kedro_jupyter_kernel_defines_the_kedro_variables(
    data_project: Path, jupyter_dirs, monkeypatch: pytest.MonkeyPatch
):
    env = project_env(jupyter_dirs)
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "jupyter", "setup"],
        cwd=data_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    spec = Path(jupyter_dirs["JUPYTER_DATA_DIR"]) / "kernels" / KERNEL_NAME
    argv = json.loads((spec / "kernel.json").read_text())["argv"]
    assert argv[-2:] == ["--ext", "kedro.ipython"]

    for key, value in jupyter_dirs.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from kedro.framework.context import KedroContext\n"
                "from kedro.framework.session import KedroSession\n"
                "from kedro.io import DataCatalog\n"
                "print(isinstance(catalog, DataCatalog), "
                "isinstance(context, KedroContext), "
                "isinstance(session, KedroSession), 'training' in pipelines)"
            )
        ]
    )
    NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=300,
        resources={"metadata": {"path": str(data_project / "notebooks")}},
    ).execute()
    assert _texts(notebook.cells[0]).strip() == "True True True True"


def test_kedro_jupyter_lab_serves_the_project_kernel(data_project: Path, jupyter_dirs):
    port = free_port()
    log = data_project / "jupyter_lab.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "kedro", "jupyter", "lab", "--no-browser"]
            + [f"--port={port}", "--ServerApp.ip=127.0.0.1"]
            + ["--IdentityProvider.token=", "--ServerApp.password="]
            # Jupyter refuses to run as root (CI containers) without this flag.
            + (["--allow-root"] if os.geteuid() == 0 else []),
            cwd=data_project,
            env=project_env(jupyter_dirs),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        specs = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/kernelspecs"
                specs = requests.get(url, timeout=5).json()
                break
            except requests.RequestException:
                time.sleep(1)
        assert specs is not None, log.read_text()[-3000:]
        assert specs["default"] == KERNEL_NAME
        assert KERNEL_NAME in specs["kernelspecs"]
        lab = requests.get(f"http://127.0.0.1:{port}/lab", timeout=30)
        assert lab.status_code == 200
    finally:
        stop_process_group(process)

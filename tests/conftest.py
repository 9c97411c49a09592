"""Shared fixtures, in one place for the whole suite.

``project_copy`` gives tests that run pipelines a throw-away copy of the project, so
that nothing is written into the repository's ``data/`` folder; ``smollm2_base``,
``tiny_model``, ``chat_tokenizer`` and ``plain_tokenizer`` are the models and
tokenizers of the modeling, scoring and dataset tests.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
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
# Kedro-telemetry stays off in every test process, whatever the fixture or folder.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")


def copy_project(destination: Path) -> Path:
    """Copy what a Kedro run needs into ``destination`` and return it.

    Copies ``conf/`` (except ``conf/local``, replaced by an empty folder so that a
    developer's local overrides cannot change test results), ``data/01_raw``,
    ``pyproject.toml``, ``.telemetry`` (telemetry stays off) and ``src/`` (Kedro
    checks that the source folder exists inside the project), and creates empty
    ``data/02_*`` ... ``data/08_*`` folders.
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
    shutil.copy2(PROJECT_ROOT / ".telemetry", destination / ".telemetry")
    for layer in DATA_LAYERS:
        (destination / "data" / layer).mkdir(parents=True, exist_ok=True)
    return destination


# What the training node reads besides its tokenized examples: the ranking
# validation's agendas, candidates and roster (read even when it is off).
RANKING_INPUTS = [
    "validation_projects",
    "retrieval_index",
    "expert_roster",
    "train_pairs",
]


def make_ranking_inputs(project: Path) -> None:
    """Build the training node's ranking-validation inputs from the shipped data of
    ``project`` (a :func:`copy_project` copy), for tests that run model_training
    alone."""
    from kedro.framework.session import KedroSession  # noqa: PLC0415
    from kedro.framework.startup import bootstrap_project  # noqa: PLC0415

    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session.run(pipeline_names=["training"], to_outputs=RANKING_INPUTS)


_CONFIGURED_LOGGERS = (
    "",
    "kedro",
    "expert_kedro",
    "transformers",
    "torch",
    "peft",
    "accelerate",
    "bitsandbytes",
    "sentence_transformers",
    "kedro_mlflow",
    "mlflow",
    "alembic",
    "py.warnings",
)


@pytest.fixture(autouse=True)
def _isolated_logging_state():
    """Give every test the logging and warnings state it started with.

    Kedro sessions apply the project's logging configuration and the CLI's quiet
    mode raises library loggers to ERROR; without this, a test's ``caplog``
    would depend on which tests ran before it in the same process.
    """
    saved = {}
    for name in _CONFIGURED_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, logger.disabled)
    root_handlers = list(logging.getLogger().handlers)
    with warnings.catch_warnings():
        yield
    for name, (level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in root_handlers:
            root.removeHandler(handler)
    for handler in root_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a fresh copy of the project (see :func:`copy_project`)."""
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A ``MonkeyPatch`` for module-scoped fixtures (telemetry off, Hub offline)."""
    patcher = pytest.MonkeyPatch()
    patcher.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    patcher.setenv("HF_HUB_OFFLINE", "1")
    yield patcher
    patcher.undo()


@pytest.fixture(scope="session")
def smollm2_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct prepared from the GGUF (once per test process)."""
    from tests.model_fixtures import prepared_smollm2

    return prepared_smollm2(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, smollm2_base: Path) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer, for fast dataset tests."""
    from tests.model_fixtures import tiny_llama

    return tiny_llama(tmp_path_factory.mktemp("tiny_llama"), smollm2_base)


@pytest.fixture(scope="module")
def chat_tokenizer(smollm2_base: Path):
    """SmolLM2's tokenizer, with its chat template."""
    from expert_kedro.modeling.base_model import load_tokenizer

    return load_tokenizer(str(smollm2_base))


@pytest.fixture(scope="module")
def plain_tokenizer(smollm2_base: Path):
    """Same vocabulary without a chat template, like Llama-3 base (the fallback
    ``### User:`` layout)."""
    from expert_kedro.modeling.base_model import load_tokenizer

    tokenizer = load_tokenizer(str(smollm2_base))
    tokenizer.chat_template = None
    return tokenizer

"""The layout a newcomer reads from folder names: pipelines never import each other.

A pipeline folder holds ``nodes.py`` and ``pipeline.py``; code that two pipelines
need lives in a package named for what it is (``preprocessing``, ``training_data``,
``retrieval``, ``scoring``, ``recommender``, ``evaluation``, ``modeling``,
``datasets``). Imports are read from the syntax tree, so a string or a comment that
names another pipeline does not count, and lazy imports inside functions do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINES = Path(__file__).resolve().parents[1] / "src" / "expert_kedro" / "pipelines"
PREFIX = "expert_kedro.pipelines."


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (relative ones resolved)."""
    package = "expert_kedro.pipelines." + path.parent.name
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def pipeline_folders() -> list[Path]:
    return sorted(p for p in PIPELINES.iterdir() if (p / "pipeline.py").is_file())


def test_every_pipeline_folder_is_found() -> None:
    names = {p.name for p in pipeline_folders()}
    assert {"data_processing", "evaluation", "inference", "model_training"} <= names


@pytest.mark.parametrize("folder", pipeline_folders(), ids=lambda p: p.name)
def test_pipeline_imports_no_other_pipeline(folder: Path) -> None:
    offenders = []
    for module in sorted(folder.rglob("*.py")):
        for name in imported_modules(module):
            if not name.startswith(PREFIX):
                continue
            other = name[len(PREFIX) :].split(".")[0]
            if other != folder.name:
                offenders.append(f"{module.relative_to(PIPELINES)} imports {name}")
    assert not offenders, "pipelines import other pipelines:\n" + "\n".join(offenders)


def test_the_check_sees_a_cross_import(tmp_path: Path) -> None:
    folder = tmp_path / "alpha"
    folder.mkdir()
    (folder / "nodes.py").write_text(
        "def f():\n    from expert_kedro.pipelines.beta.nodes import g\n"
    )
    assert "expert_kedro.pipelines.beta.nodes" in imported_modules(folder / "nodes.py")

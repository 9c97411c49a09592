"""Files stay small and single-purpose, functions short (the project's standard).

No module under ``src/`` is longer than :data:`MAX_MODULE_LINES` lines (data tables
aside) and no function or method longer than :data:`MAX_FUNCTION_LINES` lines of
code, its docstring not counted; ``create_pipeline`` functions only wire nodes and
may be longer. A module that is only data may be exempted: it is listed, with a
comment, in :data:`DATA_TABLES`.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60

# Modules that are data (tables of names, patterns, mappings), not logic.
DATA_TABLES: frozenset[str] = frozenset()


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(SRC.parent).as_posix()


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node`` from its ``def`` to its end, its docstring not counted."""
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    is_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    if is_docstring:
        lines -= first.end_lineno - first.lineno + 1
    return lines


def long_functions(path: Path, label: str | None = None) -> list[str]:
    """``label:function (N lines)`` for each too-long function of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name == "create_pipeline":
            continue
        lines = _code_lines(node)
        if lines > MAX_FUNCTION_LINES:
            found.append(f"{label or _name(path)}:{node.name} ({lines} lines)")
    return found


def test_no_module_is_too_long():
    too_long = [
        f"{_name(path)} ({n} lines)"
        for path in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
        and _name(path) not in DATA_TABLES
    ]
    assert not too_long, f"split by meaning (<= {MAX_MODULE_LINES} lines): {too_long}"


def test_no_function_is_too_long():
    too_long = [hit for path in _modules() for hit in long_functions(path)]
    assert not too_long, f"split (<= {MAX_FUNCTION_LINES} lines of code): {too_long}"


def test_the_exemptions_name_existing_modules():
    for name in DATA_TABLES:
        assert (SRC.parent / name).is_file(), f"{name} is gone: remove it"


def test_the_measure_counts_code_not_docstrings(tmp_path: Path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    doc = '    """' + "\n".join(["Doc."] * 20) + '"""\n'
    path = tmp_path / "m.py"
    path.write_text(f"def ok():\n{doc}{body[: body.rfind(chr(10))]}\n", "utf-8")
    assert long_functions(path, "m") == []
    path.write_text(f"def long():\n{doc}{body}\n    return x0\n", "utf-8")
    assert long_functions(path, "m") == ["m:long (62 lines)"]

"""An agenda typed on the command line or read from a file."""

from __future__ import annotations

import json
from pathlib import Path

from expert_kedro.console.errors import CLIError


def read_questions(questions: tuple[str, ...], file: str | None) -> list[str]:
    """The agenda from ``-q`` options and/or a file.

    A file holding a JSON value must be a JSON list of question strings; any other
    file is read as one question per non-empty line.

    Args:
        questions: The ``-q`` options, in order.
        file: The ``--file`` path, if any.

    Returns:
        The questions, ``-q`` ones first.

    Raises:
        CLIError: For an unreadable file, non-list JSON or an empty agenda.
    """
    agenda = list(questions)
    if file is not None:
        agenda.extend(_questions_in_file(file))
    if not agenda or not any(isinstance(q, str) and q.strip() for q in agenda):
        raise CLIError(
            'The agenda is empty: pass questions with -q "..." (repeatable) or '
            "--file (JSON list or one question per line)."
        )
    return agenda


def _questions_in_file(file: str) -> list[str]:
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise CLIError(f"Cannot read agenda file '{file}': {exc.strerror}.") from None
    stripped = text.strip()
    if not stripped.startswith(("[", "{", '"')):
        return [line for line in text.splitlines() if line.strip()]
    try:
        value = json.loads(stripped, strict=False)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"Agenda file '{file}' is not valid JSON ({exc.msg}, line "
            f"{exc.lineno}); give a JSON list of question strings or one "
            "question per line."
        ) from None
    if not isinstance(value, list):
        raise CLIError(
            f"Agenda file '{file}' holds a JSON {type(value).__name__}, not a "
            'list; expected e.g. ["First question?", "Second question?"].'
        )
    return value

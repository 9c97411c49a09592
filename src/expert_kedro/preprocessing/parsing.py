"""Tolerant parsing of the JSON list cells of the expert-network export.

The raw export (see ``data/01_raw`` data card) stores ``agenda``,
``project_agenda_responses`` and ``expert_skills`` as JSON text, but a few percent of
cells are damaged: Python reprs, trailing commas, double-encoded strings, truncated
text, placeholders, HTML entities, stray whitespace and raw newlines. The parsers here
recover whatever is recoverable and say what they saw, so that the pipeline can count
every defect instead of silently dropping rows.

Two entry points matter to the rest of the project:

* :func:`parse_agenda_cell` (tolerant, never raises) for the training data;
* :func:`parse_agenda_strict` (for users, e.g. new agendas at inference time), which
  still forgives harmless formatting slips but raises a ``ValueError`` naming the field
  when the agenda is empty, not a list, truncated or unreadable.
"""

from __future__ import annotations

from typing import Any

from expert_kedro.preprocessing.cell_defects import (
    CLEAN,
    DOUBLE_ENCODED,
    DROPPED,
    EMBEDDED_NEWLINE,
    EMPTY_CELL,
    EMPTY_LIST,
    HTML_ENTITY,
    INVALID_ITEM,
    NOT_A_LIST,
    PLACEHOLDER,
    PLACEHOLDERS,
    PYTHON_LITERAL,
    RAW_NEWLINE,
    RECOVERED,
    STRAY_WHITESPACE,
    TRAILING_COMMA,
    TRUNCATED,
    UNPARSEABLE,
    DefectLog,
    ParseResult,
    clean_text,
)
from expert_kedro.preprocessing.list_decoding import decode_list

# The defect kinds and the result type live in cell_defects; they stay importable
# from here, the module the rest of the project parses cells with.
__all__ = [
    "CLEAN",
    "DOUBLE_ENCODED",
    "DROPPED",
    "EMBEDDED_NEWLINE",
    "EMPTY_CELL",
    "EMPTY_LIST",
    "HTML_ENTITY",
    "INVALID_ITEM",
    "NOT_A_LIST",
    "PLACEHOLDER",
    "PLACEHOLDERS",
    "PYTHON_LITERAL",
    "ParseResult",
    "RAW_NEWLINE",
    "RECOVERED",
    "STRAY_WHITESPACE",
    "TRAILING_COMMA",
    "TRUNCATED",
    "UNPARSEABLE",
    "clean_text",
    "parse_agenda_cell",
    "parse_agenda_strict",
    "parse_responses_cell",
    "parse_string_list_cell",
]

# Defects a user-supplied agenda may not have: each one means questions are missing.
_FATAL_FOR_USERS = frozenset(
    {EMPTY_CELL, PLACEHOLDER, EMPTY_LIST, NOT_A_LIST, TRUNCATED, UNPARSEABLE}
)


def _finish(items: list[Any], log: DefectLog, read: int) -> ParseResult:
    discarded = read - len(items)
    if not items:
        if INVALID_ITEM not in log.kinds:
            log.add(EMPTY_LIST)
        return ParseResult((), tuple(log.kinds), DROPPED, discarded)
    action = RECOVERED if log.kinds else CLEAN
    return ParseResult(tuple(items), tuple(log.kinds), action, discarded)


def _clean_strings(raw_items: list[Any], log: DefectLog) -> list[str]:
    items: list[str] = []
    for item in raw_items:
        if not isinstance(item, str):
            log.add(INVALID_ITEM)
            continue
        text, defects = clean_text(item)
        log.extend(defects)
        if not text:
            log.add(INVALID_ITEM)
            continue
        items.append(text)
    return items


def parse_string_list_cell(value: Any) -> ParseResult:
    """Parse a cell holding a JSON list of strings (an agenda or a skill list).

    Never raises: whatever cannot be read is reported as a defect and the result's
    action is ``"dropped"``.

    Args:
        value: The raw cell (string, ``None``/NaN, or an already decoded list).

    Returns:
        The cleaned strings (HTML unescaped, whitespace normalised, empty strings
        removed), the defect kinds seen and the action taken.
    """
    log = DefectLog()
    raw_items = decode_list(value, log)
    if raw_items is None:
        return ParseResult((), tuple(log.kinds), DROPPED)
    return _finish(_clean_strings(raw_items, log), log, len(raw_items))


def parse_agenda_cell(value: Any) -> ParseResult:
    """Parse an ``agenda`` cell tolerantly (see :func:`parse_string_list_cell`).

    Examples:
        >>> parse_agenda_cell("['Where are we in the cycle?',]").questions
        ['Where are we in the cycle?']
    """
    return parse_string_list_cell(value)


def parse_responses_cell(value: Any) -> ParseResult:
    """Parse a ``project_agenda_responses`` cell: a list of question/answer objects.

    Items that are not objects with a non-empty string ``question`` are dropped and
    counted as ``invalid_item``; a missing or non-string answer becomes ``""``.

    Args:
        value: The raw cell.

    Returns:
        Items as ``{"question": str, "answer": str}`` dicts with cleaned text.
    """
    log = DefectLog()
    raw_items = decode_list(value, log)
    if raw_items is None:
        return ParseResult((), tuple(log.kinds), DROPPED)
    items: list[dict[str, str]] = []
    for item in raw_items:
        question = item.get("question") if isinstance(item, dict) else None
        if not isinstance(question, str):
            log.add(INVALID_ITEM)
            continue
        question, q_defects = clean_text(question)
        answer_raw = item.get("answer")
        answer_text = answer_raw if isinstance(answer_raw, str) else ""
        answer, a_defects = clean_text(answer_text)
        log.extend((*q_defects, *a_defects))
        if not question:
            log.add(INVALID_ITEM)
            continue
        items.append({"question": question, "answer": answer})
    return _finish(items, log, len(raw_items))


def parse_agenda_strict(
    value: Any, *, field: str = "agenda", row: Any | None = None
) -> list[str]:
    """Parse a user-supplied agenda, refusing input that lost questions.

    Harmless formatting slips (single quotes, trailing comma, HTML entities,
    whitespace, a double-encoded string) are fixed silently; an agenda that is empty,
    a placeholder, not a list, truncated or unreadable raises.

    Args:
        value: A JSON list of question strings, or a Python list of strings.
        field: Field name used in the error message.
        row: Optional row/case identifier used in the error message.

    Returns:
        The cleaned questions.

    Raises:
        ValueError: Naming the field (and row) and what is wrong with it.
    """
    where = f"field '{field}'" + (f" of row {row!r}" if row is not None else "")
    result = parse_agenda_cell(value)
    fatal = [kind for kind in result.defects if kind in _FATAL_FOR_USERS]
    if result.action == DROPPED or fatal:
        reasons = {
            EMPTY_CELL: "is empty",
            PLACEHOLDER: f"is a placeholder ({str(value).strip()!r})",
            EMPTY_LIST: "is an empty list",
            NOT_A_LIST: "is not a list",
            TRUNCATED: "looks truncated (no closing bracket)",
            UNPARSEABLE: "is not valid JSON",
            INVALID_ITEM: "holds no non-empty question strings",
        }
        reason = "; ".join(reasons[k] for k in result.defects if k in reasons)
        preview = str(value)[:80]
        raise ValueError(
            f"Invalid agenda in {where}: it {reason or 'has no questions'}. Expected a "
            f'JSON list of question strings, e.g. ["First question?", "Second?"]; '
            f"got {preview!r}."
        )
    if INVALID_ITEM in result.defects:
        raise ValueError(
            f"Invalid agenda in {where}: every question must be a non-empty string; "
            f"got {str(value)[:80]!r}."
        )
    return result.questions

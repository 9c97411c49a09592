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

import ast
import html
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Defect kinds, as reported in the data-quality report.
EMPTY_CELL = "empty_cell"
PLACEHOLDER = "placeholder"
EMPTY_LIST = "empty_list"
PYTHON_LITERAL = "python_literal"
TRAILING_COMMA = "trailing_comma"
DOUBLE_ENCODED = "double_encoded"
TRUNCATED = "truncated"
RAW_NEWLINE = "raw_newline_in_json"
HTML_ENTITY = "html_entity"
STRAY_WHITESPACE = "stray_whitespace"
EMBEDDED_NEWLINE = "embedded_newline"
NOT_A_LIST = "not_a_list"
INVALID_ITEM = "invalid_item"
UNPARSEABLE = "unparseable"

DEFECT_KINDS: tuple[str, ...] = (
    EMPTY_CELL,
    PLACEHOLDER,
    EMPTY_LIST,
    PYTHON_LITERAL,
    TRAILING_COMMA,
    DOUBLE_ENCODED,
    TRUNCATED,
    RAW_NEWLINE,
    HTML_ENTITY,
    STRAY_WHITESPACE,
    EMBEDDED_NEWLINE,
    NOT_A_LIST,
    INVALID_ITEM,
    UNPARSEABLE,
)

# Actions taken on a cell.
CLEAN = "clean"
RECOVERED = "recovered"
DROPPED = "dropped"

PLACEHOLDERS = frozenset({"n/a", "na", "none", "null", "nan", "-", "--", "?"})

# Defects a user-supplied agenda may not have: each one means questions are missing.
_FATAL_FOR_USERS = frozenset(
    {EMPTY_CELL, PLACEHOLDER, EMPTY_LIST, NOT_A_LIST, TRUNCATED, UNPARSEABLE}
)
_MAX_DECODE_DEPTH = 3
# Bounds the salvage of truncated lists (one decode attempt per comma) on huge input.
_MAX_SALVAGE_ATTEMPTS = 400
_TRAILING_COMMA_RE = re.compile(r",\s*(?=[\]}])")
_NEWLINE_RE = re.compile(r"[\r\n]")
_WHITESPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class ParseResult:
    """Outcome of parsing one JSON-list cell.

    Attributes:
        items: The usable, cleaned items (strings for agendas and skills,
            ``{"question", "answer"}`` dicts for responses). Empty when dropped.
        defects: Defect kinds seen in the cell, in detection order, without repeats.
        action: ``"clean"`` (no defect), ``"recovered"`` (defects, but items are
            usable) or ``"dropped"`` (nothing usable).
        discarded: Items that were read but could not be used (``invalid_item``):
            a repair that kept the rest lost these.
    """

    items: tuple[Any, ...]
    defects: tuple[str, ...]
    action: str
    discarded: int = 0

    @property
    def questions(self) -> list[str]:
        """The items as a list (named for agenda cells)."""
        return list(self.items)

    @property
    def is_complete(self) -> bool:
        """Whether the items are the whole list (usable and not truncated)."""
        return self.action != DROPPED and TRUNCATED not in self.defects


class _DefectLog:
    """Ordered, de-duplicated collection of defect kinds."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def add(self, kind: str) -> None:
        if kind not in self.kinds:
            self.kinds.append(kind)

    def extend(self, kinds: Iterable[str]) -> None:
        for kind in kinds:
            self.add(kind)


def clean_text(value: str) -> tuple[str, tuple[str, ...]]:
    """Normalise one free-text value and report what had to be fixed.

    HTML entities are unescaped (repeatedly, since some cells are escaped twice),
    inner line breaks and runs of whitespace become single spaces and the ends are
    stripped.

    Args:
        value: Raw text.

    Returns:
        The cleaned text and the defect kinds found (``html_entity``,
        ``embedded_newline``, ``stray_whitespace``).
    """
    log = _DefectLog()
    text = value
    for _ in range(_MAX_DECODE_DEPTH):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        log.add(HTML_ENTITY)
        text = unescaped
    stripped = text.strip()
    if stripped != text:
        log.add(STRAY_WHITESPACE)
    if _NEWLINE_RE.search(stripped):
        log.add(EMBEDDED_NEWLINE)
    one_line = _NEWLINE_RE.sub(" ", stripped)
    cleaned = _WHITESPACE_RE.sub(" ", one_line)
    if cleaned != one_line:  # tabs or doubled spaces inside the text
        log.add(STRAY_WHITESPACE)
    return cleaned, tuple(log.kinds)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _try_json(text: str, log: _DefectLog) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    # strict=False accepts raw control characters (e.g. newlines) inside strings.
    result = json.loads(text, strict=False)
    log.add(RAW_NEWLINE)
    return result


def _try_literal(text: str) -> Any:
    # Only list/str-shaped text is handed to literal_eval: that is all we look for.
    if text[:1] not in {"[", "'", '"'}:
        raise ValueError("not a list literal")
    return ast.literal_eval(text)


def _decode_once(text: str, log: _DefectLog) -> Any:
    """Decode ``text`` with the most faithful decoder that accepts it."""
    sub_log = _DefectLog()
    try:
        result = _try_json(text, sub_log)
        log.extend(sub_log.kinds)
        return result
    except (ValueError, RecursionError):
        pass
    without_commas = _TRAILING_COMMA_RE.sub("", text)
    if without_commas != text:
        sub_log = _DefectLog()
        try:
            result = _try_json(without_commas, sub_log)
            log.extend([TRAILING_COMMA, *sub_log.kinds])
            return result
        except (ValueError, RecursionError):
            pass
    try:
        result = _try_literal(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    else:
        log.add(PYTHON_LITERAL)
        if without_commas != text:
            log.add(TRAILING_COMMA)
        return result
    return _salvage(text, log)


def _salvage(text: str, log: _DefectLog) -> Any:
    """Recover the complete leading elements of a list cut off mid-way."""
    if text.startswith('"') and not text.endswith('"'):
        # A double-encoded list whose outer string was cut: close it and retry.
        try:
            inner = json.loads(text + '"', strict=False)
        except (ValueError, RecursionError):
            inner = None
        if isinstance(inner, str):
            log.add(DOUBLE_ENCODED)
            log.add(TRUNCATED)
            return _salvage_list(inner.strip(), log)
    if text.startswith("["):
        log.add(TRUNCATED)
        return _salvage_list(text, log)
    raise ValueError("unparseable")


def _salvage_list(text: str, log: _DefectLog) -> list[Any]:
    """Longest prefix of ``text`` that, closed with ``]``, decodes to a list."""
    if not text.startswith("["):
        raise ValueError("unparseable")
    # First assume only the closing bracket is missing, then cut at each comma
    # from the right: the first candidate that decodes keeps every complete item.
    cuts = [len(text)] + [m.start() for m in reversed(list(re.finditer(",", text)))]
    for cut in cuts[:_MAX_SALVAGE_ATTEMPTS]:
        candidate = text[:cut] + "]"
        for decoder in (lambda t: json.loads(t, strict=False), _try_literal):
            try:
                result = decoder(candidate)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(result, list):
                if decoder is _try_literal:
                    log.add(PYTHON_LITERAL)
                return result
    raise ValueError("unparseable")


def _unwrap(text: str, log: _DefectLog) -> Any:
    """Decode ``text``, peeling double encodings; ``None`` if nothing usable."""
    for _ in range(_MAX_DECODE_DEPTH):
        if not text:
            log.add(EMPTY_CELL)
            return None
        if text.lower() in PLACEHOLDERS:
            log.add(PLACEHOLDER)
            return None
        try:
            decoded = _decode_once(text, log)
        except (ValueError, RecursionError):
            log.add(UNPARSEABLE)
            return None
        if not isinstance(decoded, str):
            return decoded
        log.add(DOUBLE_ENCODED)
        text = decoded.strip()
    return text


def _decode_list(value: Any, log: _DefectLog) -> list[Any] | None:
    """Turn a raw cell into a Python list, logging defects; ``None`` if hopeless."""
    if isinstance(value, list | tuple):
        return list(value)
    if _is_missing(value):
        log.add(EMPTY_CELL)
        return None
    text = str(value)
    if text.strip() != text:
        log.add(STRAY_WHITESPACE)
    decoded = _unwrap(text.strip(), log)
    if decoded is None:
        return None
    if isinstance(decoded, list | tuple):
        return list(decoded)
    log.add(NOT_A_LIST)
    return None


def _finish(items: list[Any], log: _DefectLog, read: int) -> ParseResult:
    discarded = read - len(items)
    if not items:
        if INVALID_ITEM not in log.kinds:
            log.add(EMPTY_LIST)
        return ParseResult((), tuple(log.kinds), DROPPED, discarded)
    action = RECOVERED if log.kinds else CLEAN
    return ParseResult(tuple(items), tuple(log.kinds), action, discarded)


def _clean_strings(raw_items: list[Any], log: _DefectLog) -> list[str]:
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
    log = _DefectLog()
    raw_items = _decode_list(value, log)
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
    log = _DefectLog()
    raw_items = _decode_list(value, log)
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

"""What can be wrong with a cell of the export, and the outcome of parsing one.

The defect kinds are the vocabulary of the data-quality report: every repair or
loss the parsers make is counted under one of them. :func:`clean_text` normalises
one free-text value and says which of the text defects it fixed.
"""

from __future__ import annotations

import html
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

# Layers of encoding undone at most (HTML entities, JSON strings in JSON strings).
MAX_DECODE_DEPTH = 3

PLACEHOLDERS = frozenset({"n/a", "na", "none", "null", "nan", "-", "--", "?"})

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


class DefectLog:
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
    log = DefectLog()
    text = value
    for _ in range(MAX_DECODE_DEPTH):
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

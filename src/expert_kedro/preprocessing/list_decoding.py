"""Decoding the text of a JSON-list cell, however damaged, into a Python list.

Tried in order: JSON, then a Python literal, then the same after unwrapping a
double-encoded string, removing trailing commas or raw newlines, and last the
salvage of a truncated list (the items before the cut). Every repair is logged as a
defect kind (:mod:`expert_kedro.preprocessing.cell_defects`).
"""

from __future__ import annotations

import ast
import json
import math
import re
from typing import Any

from expert_kedro.preprocessing.cell_defects import (
    DOUBLE_ENCODED,
    EMPTY_CELL,
    MAX_DECODE_DEPTH,
    NOT_A_LIST,
    PLACEHOLDER,
    PLACEHOLDERS,
    PYTHON_LITERAL,
    RAW_NEWLINE,
    STRAY_WHITESPACE,
    TRAILING_COMMA,
    TRUNCATED,
    UNPARSEABLE,
    DefectLog,
)

# Bounds the salvage of truncated lists (one decode attempt per comma) on huge input.
_MAX_SALVAGE_ATTEMPTS = 400
_TRAILING_COMMA_RE = re.compile(r",\s*(?=[\]}])")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _try_json(text: str, log: DefectLog) -> Any:
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


def _decode_once(text: str, log: DefectLog) -> Any:
    """Decode ``text`` with the most faithful decoder that accepts it."""
    sub_log = DefectLog()
    try:
        result = _try_json(text, sub_log)
        log.extend(sub_log.kinds)
        return result
    except (ValueError, RecursionError):
        pass
    without_commas = _TRAILING_COMMA_RE.sub("", text)
    if without_commas != text:
        sub_log = DefectLog()
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


def _salvage(text: str, log: DefectLog) -> Any:
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


def _salvage_list(text: str, log: DefectLog) -> list[Any]:
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


def _unwrap(text: str, log: DefectLog) -> Any:
    """Decode ``text``, peeling double encodings; ``None`` if nothing usable."""
    for _ in range(MAX_DECODE_DEPTH):
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


def decode_list(value: Any, log: DefectLog) -> list[Any] | None:
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

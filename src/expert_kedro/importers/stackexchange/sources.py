"""Reading the team2box "NeRankFormat" files of one Stack Exchange site.

Three files per site matter: ``Q_title.txt`` and ``Q_content.txt`` (one
``<QuestionId> <text>`` line per question) and ``Record_All.json`` (one JSON object
per line: the question's owner, answerers and tags). They arrive as whole texts (the
catalog reads them); these functions check every line, so that a damaged file is
reported by name and line number rather than by a library traceback deep in pandas.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .settings import StackExchangeSettings

logger = logging.getLogger(__name__)

_MAX_LISTED_PROBLEMS = 5


@dataclass(frozen=True)
class Question:
    """One Stack Exchange question with the people who answered it.

    Attributes:
        question_id: Site question id (grows with time).
        title: Title as pre-processed upstream (lower case, no punctuation).
        body: Body, same pre-processing; ``""`` when the site has none.
        owner_id: User who asked, ``None`` when unknown.
        answerer_ids: Users who answered, each once, in the upstream order.
        tags: The question's tags.
    """

    question_id: int
    title: str
    body: str
    owner_id: int | None
    answerer_ids: tuple[int, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class _Record:
    owner_id: int | None
    answerer_ids: tuple[int, ...]
    tags: tuple[str, ...]
    # Entries of AnswererIdList that are no user id (a deleted or community
    # account, written as "-1", "" or null): dropped from the answerers.
    unusable_answerer_ids: int = 0


def _lines(text: str) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers (blank lines carry no data)."""
    return [
        (number, line.rstrip("\r"))
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def read_id_text_lines(text: str, source: str) -> tuple[dict[int, str], list[str]]:
    """Parse ``<QuestionId> <text>`` lines (``Q_title.txt``, ``Q_content.txt``).

    Args:
        text: The whole file.
        source: Name of the file, used in problem messages.

    Returns:
        Question id -> text (first occurrence wins), and one message per malformed
        line (``"<source> line <n>: <what is wrong>"``).
    """
    texts: dict[int, str] = {}
    problems: list[str] = []
    for number, line in _lines(text):
        head, _, rest = line.partition(" ")
        if not head.isdigit():
            problems.append(
                f"{source} line {number}: expected '<QuestionId> <text>', got "
                f"{line[:60]!r}"
            )
        elif int(head) in texts:
            problems.append(f"{source} line {number}: question id {head} repeated")
        else:
            texts[int(head)] = " ".join(rest.split())
    return texts, problems


def _user_id(value: Any) -> int | None:
    """A user id written as a digit string (or int); ``None`` if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _parse_record(obj: Any) -> tuple[int, _Record] | str:
    """One ``Record_All.json`` object, or the reason it is unusable."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    question_id = _user_id(obj.get("QuestionId"))
    if question_id is None:
        return f"QuestionId {obj.get('QuestionId')!r} is not a number"
    answerers = obj.get("AnswererIdList")
    if not isinstance(answerers, list):
        return f"AnswererIdList {answerers!r} is not a list of user ids"
    ids = [_user_id(a) for a in answerers]
    tags = obj.get("Tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return f"Tags {tags!r} is not a list of strings"
    owner = obj.get("QuestionOwnerId")
    record = _Record(
        owner_id=_user_id(owner),
        answerer_ids=tuple(i for i in ids if i is not None),
        tags=tuple(t.strip() for t in tags if t.strip()),
        unusable_answerer_ids=ids.count(None),
    )
    return question_id, record


def read_records(text: str, source: str) -> tuple[dict[int, _Record], list[str]]:
    """Parse ``Record_All.json``: one JSON object per line.

    Args:
        text: The whole file.
        source: Name of the file, used in problem messages.

    Returns:
        Question id -> record (first occurrence wins), and one message per
        malformed line.
    """
    records: dict[int, _Record] = {}
    problems: list[str] = []
    for number, line in _lines(text):
        try:
            parsed = _parse_record(json.loads(line))
        except ValueError as exc:
            parsed = f"not valid JSON ({exc.msg} at column {exc.colno})"
        if isinstance(parsed, str):
            problems.append(f"{source} line {number}: {parsed}")
        elif parsed[0] in records:
            problems.append(f"{source} line {number}: QuestionId {parsed[0]} repeated")
        else:
            records[parsed[0]] = parsed[1]
    return records, problems


def enforce_line_policy(problems: Sequence[str], bad_lines: str) -> None:
    """Stop on malformed lines (``error``) or log that they were skipped.

    Raises:
        ValueError: With ``bad_lines="error"``, listing the first problems (file and
            line) and the total.
    """
    if not problems:
        return
    listed = "; ".join(problems[:_MAX_LISTED_PROBLEMS])
    more = len(problems) - _MAX_LISTED_PROBLEMS
    listed += f"; ... and {more} more" if more > 0 else ""
    if bad_lines == "error":
        raise ValueError(
            f"{len(problems)} malformed line(s) in the Stack Exchange source files: "
            f"{listed}. Replace the file(s) with the site's NeRankFormat originals, "
            "or set stackexchange.bad_lines: skip to drop and count such lines."
        )
    logger.warning("Skipped %d malformed source line(s): %s", len(problems), listed)


def _answerers(record: _Record, self_answers: bool) -> tuple[tuple[int, ...], int, int]:
    """Answerers counted once, the owner's own answer removed unless allowed."""
    unique = tuple(dict.fromkeys(record.answerer_ids))
    repeated = len(record.answerer_ids) - len(unique)
    if self_answers or record.owner_id not in unique:
        return unique, repeated, 0
    return tuple(a for a in unique if a != record.owner_id), repeated, 1


def assemble_questions(
    titles: Mapping[int, str],
    bodies: Mapping[int, str],
    records: Mapping[int, _Record],
    settings: StackExchangeSettings,
) -> tuple[list[Question], dict[str, int]]:
    """Join titles, bodies and records into questions, oldest first.

    A record without a title is dropped (it can be neither a project nor a title in
    a profile); a missing body leaves the title alone; titles or bodies without a
    record have no answerers and are dropped; an answerer entry that is no user id
    (a deleted or community account) is dropped from its question. Every case is
    counted.

    Returns:
        The questions sorted by id, and the counts of the source report.
    """
    questions: list[Question] = []
    counts = dict.fromkeys(
        ("records_without_title", "records_without_body", "repeated_answerers"), 0
    )
    counts["self_answers_removed"] = 0
    counts["questions_without_answerers"] = 0
    counts["unusable_answerer_ids_dropped"] = 0
    for question_id in sorted(records):
        record = records[question_id]
        if not titles.get(question_id):
            counts["records_without_title"] += 1
            continue
        if not bodies.get(question_id):
            counts["records_without_body"] += 1
        answerers, repeated, own = _answerers(record, settings.self_answers)
        counts["repeated_answerers"] += repeated
        counts["unusable_answerer_ids_dropped"] += record.unusable_answerer_ids
        counts["self_answers_removed"] += own
        counts["questions_without_answerers"] += not answerers
        questions.append(
            Question(
                question_id=question_id,
                title=titles[question_id],
                body=bodies.get(question_id, ""),
                owner_id=record.owner_id,
                answerer_ids=answerers,
                tags=record.tags,
            )
        )
    counts["titles_without_record"] = len(set(titles) - set(records))
    counts["bodies_without_record"] = len(set(bodies) - set(records))
    dropped = {
        k: v for k, v in counts.items() if v and ("without" in k or "dropped" in k)
    }
    if dropped:
        logger.warning("Stack Exchange sources: %s", dropped)
    return questions, {"records": len(records), "questions": len(questions), **counts}

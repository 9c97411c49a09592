"""A tiny Stack Exchange site in the NeRankFormat, written by the tests themselves.

Twelve questions, ids growing with time. With ``profile_share: 0.5`` the first six
(ids 10..60) are the profile period and the last six (70..120) candidate projects;
with ``roster_size: 3`` the roster is users 1, 2 and 3 (user 5 ties with 3 on two
answers but answered later; user 4's only answer is to their own question).

Later questions carry words and tags that appear nowhere in the profile period
("zebra", "replication"...), so a leak into a profile is visible.
"""

from __future__ import annotations

import json
from pathlib import Path

PARAMS = {"site": "tiny", "roster_size": 3, "profile_share": 0.5}

# question id -> (owner, answerers, tags, title, body)
QUESTIONS: dict[int, tuple[int, list[int], list[str], str, str]] = {
    10: (9, [1, 2], ["mysql", "backup"], "how to back up mysql", "nightly dumps"),
    20: (9, [1, 3], ["mysql", "innodb"], "innodb buffer pool size", "how large"),
    30: (8, [1, 2, 1], ["postgresql"], "postgres vacuum schedule", "autovacuum"),
    40: (4, [4, 2], ["oracle"], "oracle rac licence", "cost per core"),
    50: (9, [3, 5], ["sqlite"], "sqlite locking", "busy errors"),
    60: (9, [5], ["sqlite"], "sqlite wal mode", "when to enable"),
    70: (9, [1, 6], ["replication"], "zebra replication lag", "lag grows at night"),
    80: (9, [6], ["sharding"], "zebra sharding keys", "hash or range"),
    90: (9, [2, 3], ["partitioning"], "zebra partition pruning", "pruning fails"),
    100: (9, [5], ["sqlite"], "zebra sqlite fts", "tokenizer choice"),
    110: (3, [3], ["mysql"], "zebra own question", "answered by the asker"),
    120: (
        9,
        [1],
        ["tuning"],
        "zebra tuning checklist",
        " ".join(f"w{i}" for i in range(200)),
    ),
}
PROFILE_IDS = (10, 20, 30, 40, 50, 60)
LATER_IDS = (70, 80, 90, 100, 110, 120)
# Later questions with a roster answerer (self-answers do not count).
PROJECT_EXPERTS = {70: [1], 90: [2, 3], 120: [1]}


Questions = dict[int, tuple[int, list[int], list[str], str, str]]


def record(question_id: int, questions: Questions) -> dict:
    owner, answerers, tags, _, _ = questions[question_id]
    return {
        "QuestionId": str(question_id),
        "QuestionOwnerId": str(owner),
        "AcceptedAnswerId": "",
        "AcceptedAnswererId": str(answerers[0]),
        "AnswererIdList": [str(a) for a in answerers],
        "AnswererAnswerTuples": [[str(a), str(1000 + a)] for a in answerers],
        "Tags": tags,
    }


def site_texts(questions: Questions | None = None) -> dict[str, str]:
    """File name -> content of the three source files (of ``QUESTIONS`` by default)."""
    questions = questions or QUESTIONS
    ids = sorted(questions)
    return {
        "Q_title.txt": "".join(f"{i} {questions[i][3]}\n" for i in ids),
        "Q_content.txt": "".join(f"{i} {questions[i][4]}\n" for i in ids),
        "Record_All.json": "".join(
            json.dumps(record(i, questions)) + "\n" for i in ids
        ),
    }


def write_site(folder: Path, texts: dict[str, str] | None = None) -> Path:
    """Write the site's files into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (texts or site_texts()).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder

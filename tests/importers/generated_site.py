"""A generated Stack Exchange site, large enough for every pipeline after the import.

``tiny_site`` is hand-written and too small to split into train, validation and
test projects. This one is generated from a fixed seed: answerers who prefer a
topic, questions whose words and tags come from their topic, and skewed activity,
as on the real sites. Every question carries its own marker word (``zq<id>``) in
its title and body, so a held-out question that reaches a profile, an index or a
training example is found by that word alone. One body is 20,000 characters long
and some are empty, as real exports have them.
"""

from __future__ import annotations

import random

from tests.importers.tiny_site import Questions

SITE = "generated"
# The most active answerers of the profile period form the roster; the recommender
# of the stackexchange environment reranks 20 candidates, so the roster holds more.
PARAMS = {"site": SITE, "roster_size": 30, "profile_share": 0.3}
LONG_BODY_CHARACTERS = 20_000

_TOPICS = {
    "replication": (
        ["replication", "mysql"],
        "replica lag binlog primary failover semisync relay position gtid",
    ),
    "indexing": (
        ["index", "performance"],
        "btree covering seek scan statistics fillfactor fragmentation selectivity",
    ),
    "backup": (
        ["backup", "recovery"],
        "restore snapshot dump pitr archive wal retention verify",
    ),
    "security": (
        ["security", "permissions"],
        "grant role login audit encryption certificate schema owner",
    ),
    "partitioning": (
        ["partitioning", "sharding"],
        "partition pruning range hash shard key rebalance tenant",
    ),
    "locking": (
        ["locking", "transactions"],
        "deadlock isolation snapshot latch blocking serializable mvcc rollback",
    ),
}
_FILLER = "how should we handle this in production when the workload grows".split()


def _words(rng: random.Random, vocabulary: list[str], n: int) -> str:
    return " ".join(rng.choice(vocabulary) for _ in range(n))


def questions(n_questions: int = 260, n_users: int = 60, seed: int = 7) -> Questions:
    """Question id -> (owner, answerers, tags, title, body), ids growing with time."""
    rng = random.Random(seed)
    topics = list(_TOPICS)
    users = list(range(101, 101 + n_users))
    favourite = {user: rng.choice(topics) for user in users}
    # Skewed activity: a few answerers answer most questions.
    activity = {user: 1.0 / (rank + 1) ** 0.8 for rank, user in enumerate(users)}
    generated: Questions = {}
    for position in range(n_questions):
        question_id = 5000 + 7 * position
        topic = rng.choice(topics)
        tags, vocabulary = _TOPICS[topic]
        words = vocabulary.split() + _FILLER
        marker = f"zq{question_id}"
        title = f"{marker} {_words(rng, vocabulary.split(), 4)}"
        if position % 37 == 5:
            body = ""
        elif position == n_questions // 2:
            body = (f"{marker} " + _words(rng, words, 4000))[:LONG_BODY_CHARACTERS]
        else:
            body = f"{marker} {_words(rng, words, rng.randint(20, 70))}"
        owner = rng.choice(users)
        weights = [
            activity[u] * (6.0 if favourite[u] == topic else 1.0) * (u != owner)
            for u in users
        ]
        answerers = sorted(
            set(rng.choices(users, weights=weights, k=rng.choice((1, 2, 2, 3))))
        )
        generated[question_id] = (owner, answerers, list(tags), title, body)
    return generated

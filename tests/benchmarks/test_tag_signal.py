"""benchmarks/tag_signal.py: the tag counts use no evaluated question."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from expert_kedro.importers.stackexchange import read_records
from tests.importers import tiny_site

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tag_signal():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tag_signal  # noqa: PLC0415

    return tag_signal


def test_tag_counts_come_from_the_profile_period_and_training_only(tag_signal):
    """Cut at question 60: profile questions (an answerer named twice counts once)
    and the train project 90 count; the held-out projects 70 and 120 (tags
    "replication", "tuning") do not."""
    records, problems = read_records(
        tiny_site.site_texts()["Record_All.json"], "tiny/Record_All.json"
    )
    assert problems == []
    train = pd.DataFrame({"project_id": ["90", "90"], "expert_id": ["2", "3"]})
    counts = tag_signal.expert_tag_counts(records, 60, ["1", "2", "3"], train)
    assert counts["1"] == {"mysql": 2, "backup": 1, "innodb": 1, "postgresql": 1}
    assert counts["2"] == {
        "mysql": 1,
        "backup": 1,
        "postgresql": 1,
        "oracle": 1,
        "partitioning": 1,
    }
    assert counts["3"] == {"mysql": 1, "innodb": 1, "sqlite": 1, "partitioning": 1}
    held_out = {"replication", "tuning", "sharding"}
    assert not held_out & {tag for c in counts.values() for tag in c}

"""Grounding: only roster experts, profile fields copied from the roster."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.recommender.grounding import (
    RECOMMENDATION_COLUMNS,
    Roster,
    hallucination_summary,
    match_generation,
)


@pytest.fixture(scope="module")
def roster() -> Roster:
    frame = pd.DataFrame(
        {
            "expert_id": ["1658", "20417", "3305"],
            "expert_name": ["Andrew Bennett", "José Núñez", "Siobhán O'Neill"],
            "expert_headline": ["CTO, EOS", "Buyer, Bosch (LATAM)", "Head of Sales"],
            "expert_bio": ["Bio A.", "Bio B.", "Bio C."],
            "expert_work_summary": ["W A", "W B", "W C"],
            "expert_location": [
                "Phoenix, United States",
                "São Paulo, Brazil",
                "Dublin",
            ],
            "expert_industry": ["Industrials", "Automotive & Mobility", "Healthcare"],
            "expert_skills": [["3D printing"], ["Sourcing", "Brakes"], ["Sales"]],
        }
    )
    return Roster(frame)


def test_rows_copy_roster_fields(roster: Roster):
    rows = roster.recommendation_rows("c1", ["20417", "1658"], [2.0, 1.0])
    assert [r["rank"] for r in rows] == [1, 2]
    assert [r["expert_id"] for r in rows] == ["20417", "1658"]
    assert list(rows[0]) == list(RECOMMENDATION_COLUMNS)
    assert rows[0]["expert_name"] == "José Núñez"
    assert rows[0]["expert_location"] == "São Paulo, Brazil"
    assert rows[0]["expert_skills"] == "Sourcing; Brakes"


@pytest.mark.parametrize("ids", [["1658", "99999"], ["1658", "1658"]])
def test_rows_refuse_off_roster_or_repeated(roster: Roster, ids: list[str]):
    with pytest.raises(ValueError, match="roster|repeats"):
        roster.recommendation_rows("c1", ids, [1.0, 0.5])


def test_match_by_id_then_name(roster: Roster):
    by_id = match_generation("Expert: Whoever (ID 3305)\nHeadline: x", roster)
    assert (by_id.expert_id, by_id.method) == ("3305", "id")
    # Unknown ID, accent-less spelling of a roster name: fuzzy name match.
    by_name = match_generation("Expert: Jose Nunez (ID 12)\n...", roster)
    assert (by_name.expert_id, by_name.method) == ("20417", "name")


def test_hallucinations_are_counted_not_returned(roster: Roster):
    texts = [
        "Expert: John Doe (ID 424242)\nHeadline: invented",
        "I recommend someone great.",
        "Expert: Andrew Bennett (ID 1658)",
    ]
    matches = [match_generation(t, roster) for t in texts]
    assert [m.expert_id for m in matches] == [None, None, "1658"]
    summary = hallucination_summary(matches)
    assert summary["hallucinated"] == 2
    assert summary["matched_by_id"] == 1


def test_text_ids_match_exactly():
    base = pd.DataFrame(
        {c: ["x", "y", "z"] for c in RECOMMENDATION_COLUMNS[3:] if c != "score"}
    )
    roster = Roster(
        base.assign(expert_id=["0042", "42", "A-17"], expert_name=["Ann", "Bob", "Cy"])
    )
    assert "0042" in roster and "042" not in roster
    assert 42 in roster  # an integer id (tables of older runs) is its decimal text
    assert match_generation("Expert: Zed (ID 0042)", roster).expert_id == "0042"
    assert match_generation("Expert: Zed (ID 42)", roster).expert_id == "42"
    assert match_generation("Expert: Bob (ID 042)", roster).method == "name"
    assert match_generation("My pick is ID A-17.", roster).expert_id == "A-17"
    assert roster.profile("A-17")["expert_name"] == "Cy"


def test_roster_rejects_duplicates():
    frame = pd.DataFrame(
        {c: ["a", "b"] for c in RECOMMENDATION_COLUMNS[3:] if c != "score"}
        | {"expert_id": [1, 1], "expert_name": ["A", "B"]}
    )
    with pytest.raises(ValueError, match="repeats"):
        Roster(frame)

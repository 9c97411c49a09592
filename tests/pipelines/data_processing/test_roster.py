"""Expert roster: consistency checks and the reference cross-check."""

from __future__ import annotations

import pytest

from expert_kedro.pipelines.data_processing.nodes import build_expert_roster
from expert_kedro.preprocessing.cleaning import clean_rows
from expert_kedro.preprocessing.roster import ROSTER_COLUMNS

from .factories import raw_frame, raw_row, reference


def _rows():
    return clean_rows(
        raw_frame(
            [
                raw_row(100, 1),
                raw_row(101, 1, expert_name="Someone Else"),
                raw_row(102, 1),
                raw_row(103, 2, expert_headline="Head of Sourcing 2 (stale)"),
                raw_row(104, 3),
            ]
        )
    )[0]


def test_reference_is_authoritative_and_differences_reported():
    roster, report = build_expert_roster(
        _rows(), reference([1, 2, 4]), {"authoritative_source": "reference"}
    )
    assert list(roster.columns) == list(ROSTER_COLUMNS)
    assert roster["expert_id"].tolist() == [1, 2, 3, 4]
    by_id = roster.set_index("expert_id")
    # Reference text wins over the data, for names and other fields.
    assert by_id.loc[1, "expert_name"] == "Expert 1"
    assert by_id.loc[2, "expert_headline"] == "Head of Sourcing 2"
    assert by_id.loc[1, "expert_skills"] == ["Widgets", "Sourcing"]
    assert report["name_conflicts"] == {"1": ["Expert 1", "Someone Else"]}
    assert report["experts_only_in_data"] == [3]
    assert report["experts_only_in_reference"] == [4]
    mismatches = report["field_mismatches_after_cleaning"]
    assert mismatches["expert_headline"] == {"experts": 1, "examples": [2]}
    assert mismatches["expert_name"]["experts"] == 0  # the most frequent name agrees


def test_data_source_uses_most_frequent_observed_profile():
    roster, report = build_expert_roster(
        _rows(), reference([1]), {"authoritative_source": "data"}
    )
    assert roster["expert_id"].tolist() == [1, 2, 3]
    assert roster.set_index("expert_id").loc[1, "expert_name"] == "Expert 1"
    assert report["experts_with_field_variants"]["expert_name"] == 1


def test_unknown_source_and_bad_reference_are_clear_errors():
    with pytest.raises(ValueError, match="roster.authoritative_source"):
        build_expert_roster(_rows(), reference([1]), {"authoritative_source": "x"})
    bad = reference([1]).assign(expert_id="one")
    with pytest.raises(ValueError, match="experts.csv.*non-integer"):
        build_expert_roster(_rows(), bad, {"authoritative_source": "reference"})

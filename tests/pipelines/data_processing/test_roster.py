"""Expert roster: consistency checks and the reference cross-check."""

from __future__ import annotations

import pytest

from expert_kedro.pipelines.data_processing.nodes import build_expert_roster
from expert_kedro.preprocessing.cleaning import clean_rows
from expert_kedro.preprocessing.roster import LISTED_IN_REFERENCE, ROSTER_COLUMNS

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
    assert list(roster.columns) == [*ROSTER_COLUMNS, LISTED_IN_REFERENCE]
    assert roster["expert_id"].tolist() == ["1", "2", "3", "4"]
    assert roster[LISTED_IN_REFERENCE].tolist() == [True, True, False, True]
    by_id = roster.set_index("expert_id")
    # Reference text wins over the data, for names and other fields.
    assert by_id.loc["1", "expert_name"] == "Expert 1"
    assert by_id.loc["2", "expert_headline"] == "Head of Sourcing 2"
    assert by_id.loc["1", "expert_skills"] == ["Widgets", "Sourcing"]
    assert report["name_conflicts"] == {"1": ["Expert 1", "Someone Else"]}
    assert report["experts_only_in_data"] == ["3"]
    assert report["experts_only_in_reference"] == ["4"]
    assert report["experts_missing_from_reference"] == {
        "3": {"name": "Expert 3", "reference_namesakes": []}
    }
    mismatches = report["field_mismatches_after_cleaning"]
    assert mismatches["expert_headline"] == {"experts": 1, "examples": ["2"]}
    assert mismatches["expert_name"]["experts"] == 0  # the most frequent name agrees


def test_data_source_uses_most_frequent_observed_profile():
    roster, report = build_expert_roster(
        _rows(), reference([1]), {"authoritative_source": "data"}
    )
    assert roster["expert_id"].tolist() == ["1", "2", "3"]
    assert roster.set_index("expert_id").loc["1", "expert_name"] == "Expert 1"
    assert roster[LISTED_IN_REFERENCE].tolist() == [True, False, False]
    assert report["experts_with_field_variants"]["expert_name"] == 1


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match="roster.authoritative_source"):
        build_expert_roster(_rows(), reference([1]), {"authoritative_source": "x"})


def test_reference_rows_without_an_id_are_dropped_counted_and_named():
    ref = reference([1, 2, 3])
    ref.loc[1, "expert_id"] = " "
    roster, report = build_expert_roster(
        _rows(), ref, {"authoritative_source": "reference"}
    )
    assert report["reference_invalid_id_rows_dropped"] == 1
    assert report["reference_invalid_id_rows"] == [
        {"row": 2, "expert_id": "", "reason": "expert_id empty"}
    ]
    # Expert 2 is still on the roster, from the data, and flagged.
    assert not roster.set_index("expert_id").loc["2", LISTED_IN_REFERENCE]


def test_expert_missing_from_reference_with_a_reference_name_is_flagged(caplog):
    # The export's expert 9 carries the name of reference expert 1: most likely a
    # mistyped id. It stays an expert of its own, flagged, reported and logged.
    rows = clean_rows(
        raw_frame([raw_row(100, 1), raw_row(101, 9, expert_name="expert  1")])
    )[0]
    with caplog.at_level("WARNING"):
        roster, report = build_expert_roster(
            rows, reference([1]), {"authoritative_source": "reference"}
        )
    flags = dict(zip(roster["expert_id"], roster[LISTED_IN_REFERENCE], strict=True))
    assert flags == {"1": True, "9": False}
    assert report["experts_missing_from_reference"] == {
        "9": {"name": "expert 1", "reference_namesakes": ["1"]}
    }
    assert "expert_id '9' (missing from experts.csv) carries the name" in caplog.text

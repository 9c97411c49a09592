"""Row cleaning: recovery sources, drops, duplicates and their counts."""

from __future__ import annotations

import json

import pytest

from expert_kedro.pipelines.data_processing.nodes import select_clean_matches
from expert_kedro.preprocessing.cleaning import clean_rows

from .factories import questions, raw_frame, raw_row


def _clean(rows):
    return clean_rows(raw_frame(rows))


def test_clean_rows_types_and_columns():
    clean, report = _clean([raw_row(100, 1), raw_row(101, 2)])
    assert clean["project_id"].tolist() == [100, 101]
    assert clean["expert_id"].dtype == "int64"
    assert clean.loc[0, "agenda"] == questions(100)
    assert clean.loc[0, "responses"][0] == {
        "question": questions(100)[0],
        "answer": "Answer by 1.",
    }
    assert clean.loc[0, "expert_skills"] == ["Widgets", "Sourcing"]
    assert report["row_actions"] == {"clean": 2, "recovered": 0, "dropped": 0}
    matches = select_clean_matches(clean)
    assert list(matches.columns) == [
        "project_id",
        "project_title",
        "client_type",
        "created_at",
        "agenda",
        "responses",
        "expert_id",
    ]


def test_agenda_recovered_from_own_responses():
    clean, report = _clean([raw_row(100, 1, agenda="N/A")])
    assert clean.loc[0, "agenda"] == questions(100)
    assert clean.loc[0, "agenda_source"] == "responses"
    assert report["agenda_resolution"]["responses"] == 1
    assert report["json_cells"]["agenda"]["defects"]["placeholder"] == {
        "recovered": 0,
        "dropped": 1,
    }
    assert report["row_actions"]["recovered"] == 1


def test_agenda_recovered_from_the_other_expert_of_the_project():
    rows = [
        raw_row(100, 1, agenda="", project_agenda_responses="[]"),
        raw_row(100, 2),
    ]
    clean, report = _clean(rows)
    assert clean["agenda"].tolist() == [questions(100), questions(100)]
    assert clean.loc[0, "agenda_source"] == "sibling_agenda"
    assert clean.loc[0, "responses"] == []
    assert report["agenda_resolution"]["sibling_agenda"] == 1


def test_truncated_agenda_prefers_a_complete_source():
    full = json.dumps(questions(100))
    clean, report = _clean([raw_row(100, 1, agenda=full[: len(full) // 2])])
    assert clean.loc[0, "agenda"] == questions(100)
    assert clean.loc[0, "agenda_source"] == "responses"
    assert report["agendas_truncated_in_cell_but_complete_elsewhere"] == 1


def test_truncated_everywhere_keeps_the_longest_partial_agenda():
    full_agenda = json.dumps(questions(100))
    full_responses = raw_row(100, 1)["project_agenda_responses"]
    row = raw_row(
        100,
        1,
        agenda=full_agenda[: len(full_agenda) // 2],
        project_agenda_responses=full_responses[:-60],
    )
    clean, _ = _clean([row])
    assert clean.loc[0, "agenda_source"] == "partial_truncated"
    assert clean.loc[0, "agenda"] == questions(100)[:4]


def test_row_without_any_agenda_is_dropped_and_counted():
    rows = [
        raw_row(100, 1, agenda="[]", project_agenda_responses="N/A"),
        raw_row(101, 2),
    ]
    clean, report = _clean(rows)
    assert clean["project_id"].tolist() == [101]
    assert report["rows_without_usable_agenda_dropped"] == 1
    assert report["agenda_resolution"]["unusable"] == 1
    assert report["row_actions"] == {"clean": 1, "recovered": 0, "dropped": 1}


def test_duplicates_removed_and_counted():
    row = raw_row(100, 1)
    damaged_copy = raw_row(100, 1, agenda=repr(questions(100)))
    clean, report = _clean([row, row, raw_row(101, 2), damaged_copy])
    assert len(clean) == 2
    assert report["exact_duplicate_rows_removed"] == 1
    assert report["duplicate_key_rows_removed"] == 1
    assert report["rows_in"] == 4
    assert report["rows_out"] == 2


def test_profile_text_cleaned_and_counted():
    rows = [
        raw_row(100, 1, expert_name=" Anna  Lee\t", expert_bio="R&amp;D lead.\n"),
        raw_row(101, 1, expert_name="Anna Lee"),
    ]
    clean, report = _clean(rows)
    assert clean["expert_name"].tolist() == ["Anna Lee", "Anna Lee"]
    assert clean.loc[0, "expert_bio"] == "R&D lead."
    assert report["text_fields_fixed"]["expert_name"] == {"stray_whitespace": 1}
    assert report["text_fields_fixed"]["expert_bio"]["html_entity"] == 1
    assert report["experts_with_name_variants_in_raw_text"] == 1


def test_non_numeric_ids_are_dropped_and_counted():
    bad = raw_row(101, 2) | {"expert_id": "abc"}
    clean, report = _clean([raw_row(100, 1), bad])
    assert clean["expert_id"].tolist() == [1]
    assert report["invalid_id_rows_dropped"] == 1


def test_missing_column_is_a_clear_error():
    frame = raw_frame([raw_row(100, 1)]).drop(columns=["agenda"])
    with pytest.raises(ValueError, match=r"expert_data_raw.*\['agenda'\]"):
        clean_rows(frame)

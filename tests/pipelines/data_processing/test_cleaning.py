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
    assert clean["project_id"].tolist() == ["100", "101"]
    assert clean["expert_id"].tolist() == ["1", "2"]
    assert clean.loc[0, "agenda"] == questions(100)
    assert clean.loc[0, "responses"][0] == {
        "question": questions(100)[0],
        "answer": "Answer by 1.",
    }
    assert clean.loc[0, "expert_skills"] == ["Widgets", "Sourcing"]
    assert report["row_actions"] == {
        "clean": 2,
        "recovered": 0,
        "partly_recovered": 0,
        "dropped": 0,
    }
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
        "partly_recovered": 0,
        "dropped": 1,
        "items_lost": 0,
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
    assert clean["project_id"].tolist() == ["101"]
    assert report["rows_without_usable_agenda_dropped"] == 1
    assert report["agenda_resolution"]["unusable"] == 1
    assert report["row_actions"] == {
        "clean": 1,
        "recovered": 0,
        "partly_recovered": 0,
        "dropped": 1,
    }


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


def test_ids_are_kept_exactly_as_written():
    # Ids that a number parser would rewrite or merge: 2.1e5 is not 210000, 0042 is
    # not 42, 43119.9 is not 43119.
    rows = [
        raw_row(1, 1) | {"project_id": "2.1e5", "expert_id": "0042"},
        raw_row(2, 2) | {"project_id": "210000", "expert_id": "42"},
        raw_row(3, 3) | {"project_id": "43119.9", "expert_id": "A-17"},
        raw_row(4, 4) | {"project_id": " 43119 ", "expert_id": "A-17"},
    ]
    clean, report = _clean(rows)
    assert clean["project_id"].tolist() == ["2.1e5", "210000", "43119.9", "43119"]
    assert clean["expert_id"].tolist() == ["0042", "42", "A-17", "A-17"]
    assert report["projects_out"] == 4
    assert report["experts_out"] == 3
    assert report["invalid_id_rows_dropped"] == 0
    assert report["ids_with_surrounding_whitespace"] == 1


def test_unusable_ids_are_dropped_counted_and_named(caplog):
    rows = [
        raw_row(100, 1),
        raw_row(101, 2) | {"expert_id": ""},
        raw_row(102, 3) | {"project_id": "N/A"},
        raw_row(103, 4) | {"expert_id": "4\n5"},
    ]
    with caplog.at_level("WARNING"):
        clean, report = _clean(rows)
    assert clean["project_id"].tolist() == ["100"]
    assert report["invalid_id_rows_dropped"] == 3
    assert report["invalid_id_rows"] == [
        {"row": 2, "project_id": "101", "expert_id": "", "reason": "expert_id empty"},
        {
            "row": 3,
            "project_id": "N/A",
            "expert_id": "3",
            "reason": "project_id placeholder 'N/A'",
        },
        {
            "row": 4,
            "project_id": "103",
            "expert_id": "4\n5",
            "reason": "expert_id line break inside the id",
        },
    ]
    assert report["row_actions"]["dropped"] == 3
    assert "dropping 3 row(s)" in caplog.text
    assert "row 2: expert_id empty" in caplog.text


def test_header_only_file_is_a_clear_error():
    header_only = raw_frame([raw_row(100, 1)]).iloc[0:0]
    with pytest.raises(ValueError, match="no data rows: the file holds a header only"):
        clean_rows(header_only)


def test_no_usable_row_is_a_clear_error():
    frame = raw_frame([raw_row(100, 1) | {"project_id": ""}])
    with pytest.raises(ValueError, match=r"none of its 1 row\(s\) is usable"):
        clean_rows(frame)


def test_truncated_answers_count_the_items_they_lost():
    answers = json.loads(raw_row(100, 1)["project_agenda_responses"])
    cut_two = json.dumps(answers[:3])[:-1] + ', {"question": "Q'
    complete_but_unclosed = json.dumps(answers)[:-1]
    rows = [
        raw_row(100, 1, project_agenda_responses=cut_two),
        raw_row(100, 2, project_agenda_responses=complete_but_unclosed),
    ]
    clean, report = _clean(rows)
    assert [len(r) for r in clean["responses"]] == [3, 5]
    section = report["json_cells"]["project_agenda_responses"]
    # Two of five answers lost: partly recovered. The unclosed list kept all five.
    assert section["actions"] == {
        "clean": 0,
        "recovered": 1,
        "partly_recovered": 1,
        "dropped": 0,
    }
    assert section["defects"]["truncated"] == {
        "recovered": 1,
        "partly_recovered": 1,
        "dropped": 0,
        "items_lost": 2,
    }
    assert section["items_lost"] == 2
    assert report["row_actions"]["partly_recovered"] == 1


def test_invalid_items_count_as_lost():
    cell = json.dumps(["Question 1 about project 100?", 42, {"q": 1}])
    clean, report = _clean([raw_row(100, 1, expert_skills=cell)])
    section = report["json_cells"]["expert_skills"]
    assert section["actions"]["partly_recovered"] == 1
    assert section["defects"]["invalid_item"]["items_lost"] == 2
    assert clean.loc[0, "expert_skills"] == ["Question 1 about project 100?"]


def test_missing_column_is_a_clear_error():
    frame = raw_frame([raw_row(100, 1)]).drop(columns=["agenda"])
    with pytest.raises(ValueError, match=r"expert_data_raw.*\['agenda'\]"):
        clean_rows(frame)

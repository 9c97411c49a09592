"""The Stack Exchange importer on a tiny site written by the test (tiny_site.py)."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from expert_kedro.importers.stackexchange import (
    ATTRIBUTION,
    MATCH_COLUMNS,
    StackExchangeSettings,
    assemble_questions,
    build_match_rows,
    build_roster_profiles,
    chunk_agenda,
    data_card,
    enforce_line_policy,
    import_report,
    read_id_text_lines,
    read_records,
    split_periods,
)
from expert_kedro.preprocessing.cleaning import RAW_COLUMNS, clean_rows
from expert_kedro.preprocessing.roster import ROSTER_COLUMNS, build_roster
from tests.importers import tiny_site

SETTINGS = StackExchangeSettings.from_params(tiny_site.PARAMS)
PROFILE_TEXT = ("expert_headline", "expert_bio", "expert_work_summary", "expert_skills")


def _import(texts: dict[str, str], settings: StackExchangeSettings = SETTINGS):
    titles, p1 = read_id_text_lines(texts["Q_title.txt"], "tiny/Q_title.txt")
    bodies, p2 = read_id_text_lines(texts["Q_content.txt"], "tiny/Q_content.txt")
    records, p3 = read_records(texts["Record_All.json"], "tiny/Record_All.json")
    enforce_line_policy([*p1, *p2, *p3], settings.bad_lines)
    questions, sources = assemble_questions(titles, bodies, records, settings)
    profile, later, cut = split_periods(questions, settings)
    experts, roster_report = build_roster_profiles(profile, settings)
    rows, projects_report = build_match_rows(later, experts, settings)
    report = import_report(sources, cut, roster_report, projects_report, settings)
    return experts, rows, report


def _as_loaded(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the catalog reads the CSV (all text, no NA conversion)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def imported():
    return _import(tiny_site.site_texts())


def test_roster_is_the_most_active_profile_period_answerers(imported):
    experts, _, report = imported
    assert experts["expert_id"].tolist() == ["1", "2", "3"]
    roster = report["roster"]
    assert roster["roster_size"] == 3
    assert roster["answerers_tied_at_boundary_left_out"] == 1  # user 5
    assert report["sources"]["self_answers_removed"] == 2  # q40 (user 4), q110
    assert report["sources"]["repeated_answerers"] == 1  # user 1 twice on q30
    user1 = experts.iloc[0]
    assert json.loads(user1["expert_skills"]) == [
        "mysql",
        "backup",
        "innodb",
        "postgresql",
    ]
    assert "3 question(s)" in user1["expert_bio"]
    assert user1["expert_name"] == "tiny user 1"


def test_roster_size_larger_than_the_answerers_keeps_them_all():
    settings = StackExchangeSettings.from_params(tiny_site.PARAMS | {"roster_size": 50})
    experts, _, report = _import(tiny_site.site_texts(), settings)
    assert sorted(experts["expert_id"].astype(int)) == [1, 2, 3, 5]
    assert report["roster"]["roster_size"] == 4


def test_time_cut_and_projects(imported):
    _, rows, report = imported
    assert report["time_cut"]["profile_cutoff_question_id"] == 60
    assert report["time_cut"]["profile_period_questions"] == 6
    projects = rows.groupby("project_id")["expert_id"].agg(list).to_dict()
    expected = tiny_site.PROJECT_EXPERTS
    assert projects == {str(p): [str(e) for e in ex] for p, ex in expected.items()}
    assert report["projects"]["projects"] == 3
    assert report["projects"]["dropped_no_roster_answerer"] == 3  # 80, 100, 110
    assert report["projects"]["rows"] == 4
    assert min(rows["project_id"].astype(int)) > 60


def test_no_evaluated_question_reaches_a_profile(imported):
    experts, _, _ = imported
    profile_text = " ".join(experts[list(PROFILE_TEXT)].to_numpy().ravel())
    for question_id in tiny_site.LATER_IDS:
        _, _, tags, title, _ = tiny_site.QUESTIONS[question_id]
        assert title not in profile_text
        for tag in set(tags) - {
            t for i in tiny_site.PROFILE_IDS for t in tiny_site.QUESTIONS[i][2]
        }:
            assert tag not in profile_text
    assert "zebra" not in profile_text


def test_profiles_do_not_change_when_later_questions_do(imported):
    """Rewrite every later question (text, tags, answerers): profiles stay equal."""
    experts, _, _ = imported
    changed = dict(tiny_site.QUESTIONS)
    for question_id in tiny_site.LATER_IDS:
        changed[question_id] = (9, [1, 2, 3], ["leak"], "leaked title", "leaked body")
    texts = tiny_site.site_texts(changed)
    experts_again, rows_again, _ = _import(texts)
    pd.testing.assert_frame_equal(experts, experts_again)
    assert "leak" not in " ".join(experts_again.to_numpy().ravel())
    assert len(rows_again) == 18  # the rewrite did change the projects


def test_schema_is_what_data_processing_reads(imported):
    experts, rows, _ = imported
    assert tuple(rows.columns) == MATCH_COLUMNS
    assert set(RAW_COLUMNS) == set(rows.columns)
    assert set(ROSTER_COLUMNS) <= set(experts.columns)
    clean, report = clean_rows(_as_loaded(rows))
    assert report["rows_out"] == len(rows) == 4
    assert report["row_actions"]["dropped"] == 0
    assert set(clean["agenda_source"]) == {"agenda_cell"}
    roster, roster_report = build_roster(clean, _as_loaded(experts), "reference")
    assert roster_report["experts_only_in_data"] == []
    assert len(roster) == 3
    assert all(roster["expert_skills"].map(len) > 0)
    mismatches = roster_report["field_mismatches_after_cleaning"]
    assert all(m["experts"] == 0 for m in mismatches.values())


def test_agenda_is_title_then_bounded_chunks(imported):
    _, rows, report = imported
    agenda = json.loads(rows.loc[rows["project_id"] == "120", "agenda"].iloc[0])
    assert agenda[0] == "zebra tuning checklist"
    assert len(agenda) == SETTINGS.max_questions
    assert all(len(q.split()) == SETTINGS.chunk_words for q in agenda[1:])
    assert report["projects"]["agendas_with_body_cut"] == 1


@pytest.mark.parametrize(
    ("words", "sizes"),
    [(0, []), (10, [10]), (50, [25, 25]), (55, [25, 30]), (56, [25, 25, 6])],
)
def test_chunk_agenda_merges_a_short_tail(words: int, sizes: list[int]):
    body = " ".join(f"w{i}" for i in range(words))
    agenda, cut = chunk_agenda("title", body, SETTINGS)
    assert agenda[0] == "title"
    assert [len(q.split()) for q in agenda[1:]] == sizes
    assert not cut
    assert " ".join(agenda[1:]).split() == body.split()


def test_chunk_agenda_drops_a_body_equal_to_the_title():
    assert chunk_agenda("same words", "same words", SETTINGS) == (["same words"], False)


def test_topics_line_follows_the_title_and_takes_an_item():
    with_topics = StackExchangeSettings.from_params(
        {**tiny_site.PARAMS, "topics_line": True}
    )
    body = " ".join(f"w{i}" for i in range(200))
    agenda, cut = chunk_agenda("title", body, with_topics, ("mysql", "innodb"))
    plain, _ = chunk_agenda("title", body, SETTINGS, ("mysql", "innodb"))
    assert agenda[:2] == ["title", "Topics: mysql, innodb"]
    assert agenda[2:] == plain[1:-1]
    assert len(agenda) == len(plain) == SETTINGS.max_questions
    assert cut
    # No tags, no line; off by default.
    assert chunk_agenda("title", "", with_topics, ()) == (["title"], False)
    assert "Topics" not in " ".join(plain)


def test_malformed_lines_name_file_and_line():
    texts = tiny_site.site_texts()
    lines = texts["Q_title.txt"].splitlines(keepends=True)
    lines[2] = "abc not an id\n"
    records = texts["Record_All.json"].splitlines(keepends=True)
    records[4] = '{"QuestionId": "50", "AnswererIdList": ["3",\n'
    broken = texts | {
        "Q_title.txt": "".join(lines),
        "Record_All.json": "".join(records),
    }
    with pytest.raises(ValueError) as error:
        _import(broken)
    message = str(error.value)
    assert "2 malformed line(s)" in message
    assert "tiny/Q_title.txt line 3" in message
    assert "tiny/Record_All.json line 5: not valid JSON" in message
    assert "stackexchange.bad_lines: skip" in message


def test_skipped_lines_are_counted():
    texts = tiny_site.site_texts()
    records = texts["Record_All.json"].splitlines(keepends=True)
    records[4] = json.dumps({"QuestionId": "50", "AnswererIdList": "3"}) + "\n"
    settings = StackExchangeSettings.from_params(
        tiny_site.PARAMS | {"bad_lines": "skip"}
    )
    _, p3 = read_records("".join(records), "tiny/Record_All.json")
    assert p3 == [
        "tiny/Record_All.json line 5: AnswererIdList '3' is not a list of user ids"
    ]
    _, _, report = _import(texts | {"Record_All.json": "".join(records)}, settings)
    assert report["sources"]["records"] == 11
    assert report["sources"]["titles_without_record"] == 1


def test_answerer_entries_that_are_no_user_id_are_dropped_and_counted(caplog):
    """Deleted and community accounts ("-1", "", null) leave their question's
    answerers, counted; null tags read as none. The import does not stop."""
    texts = tiny_site.site_texts()
    records = [json.loads(line) for line in texts["Record_All.json"].splitlines()]
    by_id = {int(r["QuestionId"]): r for r in records}
    by_id[90]["AnswererIdList"] = ["-1", "2", "", None, "3"]  # project 90: 2 and 3
    by_id[80]["Tags"] = None
    edited = "".join(json.dumps(r) + "\n" for r in records)
    with caplog.at_level("WARNING"):
        experts, rows, report = _import(texts | {"Record_All.json": edited})
    assert report["sources"]["unusable_answerer_ids_dropped"] == 3
    assert "unusable_answerer_ids_dropped': 3" in caplog.text
    assert sorted(rows.loc[rows["project_id"] == "90", "expert_id"]) == ["2", "3"]
    assert report["sources"]["records"] == len(records)
    assert "-1" not in set(experts["expert_id"])


def _without(text: str, prefix: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(prefix)
    )


def test_missing_titles_and_bodies_are_counted():
    texts = tiny_site.site_texts()
    titles = _without(texts["Q_title.txt"], "90 ")
    bodies = _without(texts["Q_content.txt"], "70 ")
    _, rows, report = _import(texts | {"Q_title.txt": titles, "Q_content.txt": bodies})
    assert report["sources"]["records_without_title"] == 1
    assert report["sources"]["records_without_body"] == 1
    assert "90" not in set(rows["project_id"])
    assert json.loads(rows.loc[rows["project_id"] == "70", "agenda"].iloc[0]) == [
        "zebra replication lag"
    ]


def test_data_card_carries_attribution_cut_and_counts(imported):
    _, _, report = imported
    card = data_card(report)
    assert ATTRIBUTION in card and "CC BY-SA" in card and "team2box" in card
    assert "id up to 60" in card
    assert "| dropped_no_roster_answerer | 3 |" in card
    assert "expert_location" in card and "client_type" in card


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"roster_size": 0}, "roster_size=0 must be >= 1"),
        ({"profile_share": 1.0}, "profile_share=1.0 must lie strictly between"),
        ({"site": "../etc"}, "site='../etc' must be a folder name"),
        ({"bad_lines": "ignore"}, "bad_lines='ignore'"),
        (
            {"self_answers": "false"},
            "stackexchange.self_answers='false' is not a valid boolean",
        ),
        ({"rooster_size": 3}, "Unknown stackexchange parameter(s) ['rooster_size']"),
        ({"min_chunk_words": 30}, "min_chunk_words=30 must lie in 0..chunk_words (25)"),
    ],
)
def test_invalid_settings_name_the_parameter(params: dict, fragment: str):
    with pytest.raises(ValueError) as error:
        StackExchangeSettings.from_params(params)
    assert fragment in str(error.value)


def test_explicit_cutoff_must_leave_both_periods():
    settings = StackExchangeSettings.from_params({"profile_cutoff_id": 500})
    with pytest.raises(ValueError, match=r"leaves 12 profile-period and 0 later"):
        _import(tiny_site.site_texts(), settings)

"""Tolerant JSON-cell parser: each defect kind of the data card, plus properties."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expert_kedro.preprocessing.parsing import (
    CLEAN,
    DOUBLE_ENCODED,
    DROPPED,
    EMBEDDED_NEWLINE,
    EMPTY_CELL,
    EMPTY_LIST,
    HTML_ENTITY,
    INVALID_ITEM,
    NOT_A_LIST,
    PLACEHOLDER,
    PYTHON_LITERAL,
    RAW_NEWLINE,
    RECOVERED,
    STRAY_WHITESPACE,
    TRAILING_COMMA,
    TRUNCATED,
    UNPARSEABLE,
    clean_text,
    parse_agenda_cell,
    parse_agenda_strict,
    parse_responses_cell,
)

Q1 = "How do hospital systems run RFPs?"
Q2 = "What's next for pricing?"
Q3 = "Who are the winners and losers?"


def test_clean_json_is_clean():
    result = parse_agenda_cell(json.dumps([Q1, Q2]))
    assert result.questions == [Q1, Q2]
    assert result.defects == ()
    assert result.action == CLEAN
    assert result.is_complete


@pytest.mark.parametrize(
    ("cell", "expected", "defect"),
    [
        (repr([Q1, Q2]), [Q1, Q2], PYTHON_LITERAL),
        (json.dumps([Q1, Q2])[:-1] + ", ]", [Q1, Q2], TRAILING_COMMA),
        (json.dumps(json.dumps([Q1, Q2])), [Q1, Q2], DOUBLE_ENCODED),
        (
            '["What&#39;s the R&amp;D budget?", "A &quot;quoted&quot; term?"]',
            ["What's the R&D budget?", 'A "quoted" term?'],
            HTML_ENTITY,
        ),
        ('["What&amp;#39;s up?"]', ["What's up?"], HTML_ENTITY),
        (
            '[" How  big is\\tit? ", "Fine?"]',
            ["How big is it?", "Fine?"],
            STRAY_WHITESPACE,
        ),
        (f"  \n{json.dumps([Q1])}\t ", [Q1], STRAY_WHITESPACE),
        ('["Who are the winners\\nand losers?"]', [Q3], EMBEDDED_NEWLINE),
        ('["Who are the winners\nand losers?"]', [Q3], RAW_NEWLINE),
    ],
)
def test_recoverable_defects(cell, expected, defect):
    result = parse_agenda_cell(cell)
    assert result.questions == expected
    assert defect in result.defects
    assert result.action == RECOVERED
    assert result.is_complete


def test_python_literal_with_trailing_comma_and_mixed_quotes():
    cell = "['What is it?', \"What's next?\",]"
    result = parse_agenda_cell(cell)
    assert result.questions == ["What is it?", "What's next?"]
    assert {PYTHON_LITERAL, TRAILING_COMMA} <= set(result.defects)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        # Cut inside the third question: the two complete ones are kept.
        (json.dumps([Q1, Q2, Q3])[:-12], [Q1, Q2]),
        # Only the closing bracket is missing: nothing is lost.
        (json.dumps([Q1, Q2])[:-1], [Q1, Q2]),
        # Cut right after a comma.
        (json.dumps([Q1, Q2])[:-1] + ", ", [Q1, Q2]),
        (repr([Q1, Q3])[:-10], [Q1]),
        (json.dumps(json.dumps([Q1, Q3]))[:-15], [Q1]),
    ],
)
def test_truncated_keeps_complete_questions(cell, expected):
    result = parse_agenda_cell(cell)
    assert result.questions == expected
    assert TRUNCATED in result.defects
    assert result.action == RECOVERED
    assert not result.is_complete


def test_truncated_inside_first_question_is_dropped():
    result = parse_agenda_cell('["How do hospital sys')
    assert result.action == DROPPED
    assert result.items == ()
    assert TRUNCATED in result.defects


@pytest.mark.parametrize(
    ("cell", "defect"),
    [
        ("", EMPTY_CELL),
        ("   \n", EMPTY_CELL),
        (None, EMPTY_CELL),
        (math.nan, EMPTY_CELL),
        ("N/A", PLACEHOLDER),
        ("n/a", PLACEHOLDER),
        ("null", PLACEHOLDER),
        ("[]", EMPTY_LIST),
        ('"[]"', EMPTY_LIST),
        ('{"question": "x"}', NOT_A_LIST),
        ("42", NOT_A_LIST),
        ("[1, 2]", INVALID_ITEM),
        ('["", "   "]', INVALID_ITEM),
        ("just some words", UNPARSEABLE),
    ],
)
def test_unusable_cells_are_dropped_with_their_defect(cell, defect):
    result = parse_agenda_cell(cell)
    assert result.action == DROPPED
    assert result.items == ()
    assert defect in result.defects


def test_invalid_items_are_removed_but_the_rest_is_kept():
    result = parse_agenda_cell(json.dumps([Q1, 3, None, Q2]))
    assert result.questions == [Q1, Q2]
    assert INVALID_ITEM in result.defects
    assert result.action == RECOVERED


def test_responses_cell_recovers_objects():
    items = [{"question": Q1, "answer": "Slowly."}, {"question": Q2, "answer": "Up."}]
    assert parse_responses_cell(json.dumps(items)).items == tuple(items)
    python_repr = parse_responses_cell(repr(items))
    assert list(python_repr.items) == items
    assert PYTHON_LITERAL in python_repr.defects
    truncated = parse_responses_cell(json.dumps(items)[:-20])
    assert list(truncated.items) == items[:1]
    assert TRUNCATED in truncated.defects
    double = parse_responses_cell(json.dumps(json.dumps(items)))
    assert list(double.items) == items
    assert DOUBLE_ENCODED in double.defects


def test_responses_cell_cleans_text_and_drops_bad_items():
    cell = json.dumps(
        [
            {"question": " R&amp;D spend? ", "answer": "Flat\nthis year."},
            {"answer": "no question"},
            "not an object",
            {"question": Q2},
        ]
    )
    result = parse_responses_cell(cell)
    assert list(result.items) == [
        {"question": "R&D spend?", "answer": "Flat this year."},
        {"question": Q2, "answer": ""},
    ]
    assert {HTML_ENTITY, INVALID_ITEM, EMBEDDED_NEWLINE} <= set(result.defects)


def test_clean_text_reports_each_fix():
    assert clean_text("  a\tb  ") == ("a b", (STRAY_WHITESPACE,))
    assert clean_text("M&amp;A") == ("M&A", (HTML_ENTITY,))
    assert clean_text("one\ntwo") == ("one two", (EMBEDDED_NEWLINE,))
    assert clean_text("fine") == ("fine", ())


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "is empty"),
        ("[]", "empty list"),
        ("N/A", "placeholder"),
        ('{"q": 1}', "not a list"),
        ('["How big', "truncated"),
        ("How big is the market?", "not valid JSON"),
        ("[1, 2]", "non-empty question strings"),
    ],
)
def test_strict_parser_names_field_and_problem(value, fragment):
    with pytest.raises(ValueError, match="field 'agenda' of row 'case-7'") as info:
        parse_agenda_strict(value, row="case-7")
    assert fragment in str(info.value)


def test_strict_parser_accepts_harmless_slips_and_lists():
    assert parse_agenda_strict(repr([Q1, Q2])) == [Q1, Q2]
    assert parse_agenda_strict(json.dumps([Q1])[:-1] + ",]") == [Q1]
    assert parse_agenda_strict([f" {Q1} "]) == [Q1]
    with pytest.raises(ValueError, match="field 'questions'"):
        parse_agenda_strict([], field="questions")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text):
    result = parse_agenda_cell(text)
    assert result.action in {CLEAN, RECOVERED, DROPPED}
    assert all(isinstance(q, str) and q and q == q.strip() for q in result.items)
    assert (result.action == DROPPED) == (not result.items)
    parse_responses_cell(text)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
            max_size=30,
        ),
        max_size=6,
    )
)
def test_arbitrary_lists_never_crash_in_any_encoding(items):
    for cell in (json.dumps(items), repr(items), json.dumps(json.dumps(items))):
        assert parse_agenda_cell(cell).action in {CLEAN, RECOVERED, DROPPED}


# Already-clean questions: words (no whitespace, no "&" entity) joined by one space.
_word = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")),
    min_size=1,
    max_size=12,
).map(lambda s: s.replace("&", "and"))
_clean_question = st.lists(_word, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_clean_question, min_size=1, max_size=8))
def test_valid_json_lists_round_trip(questions):
    result = parse_agenda_cell(json.dumps(questions))
    assert result.questions == questions
    assert result.action == CLEAN
    assert parse_agenda_cell(json.dumps(questions, ensure_ascii=False)).questions == (
        questions
    )
    assert parse_agenda_cell(json.dumps(json.dumps(questions))).questions == questions

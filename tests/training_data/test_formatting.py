"""Agenda and target layouts, in both output formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expert_kedro.training_data.formatting import (
    ExpertRef,
    format_agenda,
    format_expert_profile,
    parse_expert_line,
    parse_expert_profile,
)
from expert_kedro.training_data.targets import build_rationale, format_target

PROFILE = {
    "expert_id": "95705",
    "expert_name": "Ondřej O'Dvořák",
    "expert_headline": "Ex-Tesla Head of Corporate Finance (CEE)",
    "expert_bio": (
        "Ondřej has 17 years of experience in grid-scale battery storage. Based in "
        "Brno, he covered Central Europe. He also covered offshore wind."
    ),
    "expert_work_summary": "2014–2022: Head of Corporate Finance, Tesla.",
    "expert_location": "Brno, Czech Republic",
    "expert_industry": "Energy & Power",
    "expert_skills": ["Battery energy storage", "Power markets", "FP&A"],
}
AGENDA = [
    "How much have battery storage system prices fallen?",
    "Why have offshore wind contracts been renegotiated?",
    "What question should we be asking that we haven't?",
]
RESPONSES = [
    {"question": AGENDA[0], "answer": "Battery storage prices fell by a third."},
    {"question": AGENDA[1], "answer": "Not my main focus: auction redesigns."},
    {"question": AGENDA[2], "answer": "Ask about power markets saturation."},
]


def test_format_agenda_numbers_questions_and_optional_title():
    assert format_agenda(["A?", "B?"]) == "Agenda:\n1. A?\n2. B?"
    assert format_agenda(["A?"], title="Project Sierra") == (
        "Project: Project Sierra\nAgenda:\n1. A?"
    )
    assert format_agenda(["A\nstill A?"], title="  ").startswith("Agenda:\n1. A still")


def test_format_agenda_rejects_empty_agenda():
    with pytest.raises(ValueError, match="no questions"):
        format_agenda(["  "])


def test_profile_layout_is_fixed_and_round_trips():
    text = format_expert_profile(PROFILE)
    lines = text.splitlines()
    assert lines[0] == "Expert: Ondřej O'Dvořák (ID 95705)"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Headline",
        "Location",
        "Industry",
        "Skills",
        "Bio",
        "Work history",
    ]
    assert "Skills: Battery energy storage; Power markets; FP&A" in lines
    assert parse_expert_profile(text) == PROFILE


def test_profile_accepts_numpy_like_skills_and_flattens_newlines():
    profile = PROFILE | {
        "expert_skills": ("A", "B"),
        "expert_bio": "Line one\nline two",
    }
    text = format_expert_profile(profile)
    assert "Skills: A; B" in text
    assert "Bio: Line one line two" in text


@settings(max_examples=100, deadline=None)
@given(
    name=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")),
        min_size=1,
        max_size=20,
    ),
    expert_id=st.one_of(
        st.integers(min_value=0, max_value=10**7).map(str),
        # Opaque ids: any text without spaces or line breaks, "0042", "A-17", "x)".
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z")),
            min_size=1,
            max_size=12,
        ),
    ),
)
def test_expert_line_reads_back_any_name_and_id(name, expert_id):
    text = format_expert_profile(
        PROFILE | {"expert_name": name, "expert_id": expert_id}
    )
    assert parse_expert_line(text) == ExpertRef(name, expert_id)


def test_parse_expert_line_in_generations():
    generation = "Sure! Here is my pick.\nExpert: Ana (Lima) Díaz (ID 123)\nHeadline: x"
    assert parse_expert_line(generation) == ExpertRef("Ana (Lima) Díaz", "123")
    assert parse_expert_line("Expert: Bo (ID 0042)") == ExpertRef("Bo", "0042")
    assert parse_expert_line("Expert: Bo (ID A-17 (b))") == ExpertRef("Bo", "A-17 (b)")
    assert parse_expert_line("Expert: nobody") is None
    assert parse_expert_line("") is None
    with pytest.raises(ValueError, match="no 'Expert"):
        parse_expert_profile("Headline: nothing")


def test_rationale_explains_fit_from_profile_and_answers():
    text = build_rationale(PROFILE, AGENDA, RESPONSES, max_answers=2)
    first, paragraph = text.split("\n")
    assert first == "Expert: Ondřej O'Dvořák (ID 95705)"
    assert "Ex-Tesla Head of Corporate Finance (CEE)" in paragraph
    assert "Brno, Czech Republic" in paragraph
    # Skills sharing words with the agenda are named.
    assert "Battery energy storage" in paragraph
    # The two answers closest to the expert's profile are quoted, in agenda order;
    # the off-topic one is not.
    assert paragraph.count("they answered") == 2
    assert "Battery storage prices fell by a third." in paragraph
    assert "power markets saturation" in paragraph
    assert "auction redesigns" not in paragraph


def test_rationale_leaves_out_empty_optional_fields():
    sparse = PROFILE | {"expert_location": "", "expert_headline": "  "}
    first_sentence = build_rationale(sparse, AGENDA).split("\n")[1].split(". ")[0]
    assert first_sentence == (
        "Ondřej O'Dvořák fits this agenda, working in Energy & Power"
    )
    bare = sparse | {"expert_industry": ""}
    assert "Ondřej O'Dvořák fits this agenda." in build_rationale(bare, AGENDA)


def test_rationale_uses_only_answers_to_the_given_questions():
    text = build_rationale(PROFILE, AGENDA[1:], RESPONSES, max_answers=5)
    assert "Battery storage prices fell" not in text
    assert text.count("they answered") == 2
    no_answers = build_rationale(PROFILE, AGENDA, [], max_answers=2)
    assert "they answered" not in no_answers
    assert parse_expert_line(no_answers) == ExpertRef(PROFILE["expert_name"], "95705")


def test_format_target_dispatches_and_rejects_unknown_format():
    assert format_target(PROFILE, AGENDA, RESPONSES, "profile") == (
        format_expert_profile(PROFILE)
    )
    assert format_target(PROFILE, AGENDA, RESPONSES, "rationale") == (
        build_rationale(PROFILE, AGENDA, RESPONSES)
    )
    with pytest.raises(ValueError, match="pairs.output_format"):
        format_target(PROFILE, AGENDA, RESPONSES, "essay")

"""The length policy on the real SmolLM2 tokenizer: budgets, counts, determinism."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from expert_kedro.modeling.prompts import encode_prompt
from expert_kedro.modeling.tokenization import tokenize_pairs
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.training_data.prompt_fitting import (
    ELLIPSIS,
    POLICIES,
    PromptFitter,
    split_user_turn,
)
from expert_kedro.training_data.rerank_pairs import (
    HISTORY_HEADER,
    format_rerank_input,
)

SYSTEM = RecommenderSettings().rerank_system_prompt
PROFILE = {
    "expert_id": "A-7",
    "expert_name": "Ana Ruiz",
    "expert_headline": "Former VP Sales, Medtronic (DACH)",
    "expert_location": "Munich, Germany",
    "expert_industry": "Healthcare",
    "expert_skills": ["Infusion pumps", "Hospital tenders"],
    "expert_bio": "Sold infusion pumps to German hospital groups. " * 6,
    "expert_work_summary": "Medtronic 2010-2020; B. Braun 2005-2010.",
}
HISTORY = ["How do German hospitals run RFPs for pumps?", "Who wins pump tenders?"]
LONG_QUESTION = (
    "How do hospital groups in Germany, Austria and Switzerland tender infusion "
    "pumps, and which vendors gained share after the last framework contracts? "
) * 200
LONG_AGENDA = ["Infusion pumps in DACH hospitals", LONG_QUESTION[:20_000], "Who leads?"]
MANY_AGENDA = [
    f"Question {i}: how is demand for pump model {i} changing?" for i in range(200)
]
BUDGET = 512


def _user(agenda, history=HISTORY):
    return format_rerank_input(
        agenda, PROFILE, history, region=True, agenda_region=True
    )


def _questions(text: str) -> list[str]:
    agenda = text.split("\n\n", maxsplit=1)[0]
    return [line for line in agenda.splitlines() if re.match(r"^\d+\. ", line)]


@pytest.fixture(scope="module")
def fitter(chat_tokenizer) -> PromptFitter:
    return PromptFitter(chat_tokenizer)


def test_the_layout_is_read_back_line_for_line():
    user = _user(LONG_AGENDA)
    units = split_user_turn(user)
    assert "\n".join(u.prefix + u.body for u in units) == user
    kinds = [u.kind for u in units]
    assert kinds.count("question") == 3
    assert kinds.count("history") == 2
    assert kinds.count("profile") == 6


def test_a_prompt_within_budget_is_left_alone(fitter, chat_tokenizer):
    user = _user(["How do German hospitals buy pumps?"])
    text, ids, report = fitter.fit(SYSTEM, user, 4096)
    assert text == user
    assert ids == encode_prompt(chat_tokenizer, SYSTEM, user)
    assert not report.shortened


def test_a_20000_character_question_is_cut_to_its_opening(fitter, chat_tokenizer):
    assert len(LONG_AGENDA[1]) == 20_000
    text, ids, report = fitter.fit(SYSTEM, _user(LONG_AGENDA), BUDGET)
    assert len(ids) <= BUDGET
    assert ids == encode_prompt(chat_tokenizer, SYSTEM, text)
    assert report.fits
    assert report.shortened
    assert report.original_tokens > 4 * BUDGET
    # Past questions go first; then only the long question is cut, visibly.
    assert report.history_dropped == 2
    assert HISTORY_HEADER not in text
    assert report.questions_shortened == 1
    assert report.questions_dropped == 0
    questions = _questions(text)
    assert questions[0] == "1. Infusion pumps in DACH hospitals"
    assert questions[1].startswith("2. How do hospital groups in Germany")
    assert questions[1].endswith(ELLIPSIS)
    assert questions[2] == "3. Who leads?"
    # The candidate's profile is whole.
    assert "Expert: Ana Ruiz (ID A-7)" in text
    assert f"Work history: {PROFILE['expert_work_summary']}" in text
    assert report.profile_lines_shortened == 0
    assert report.part_tokens["profile"][0] == report.part_tokens["profile"][1]


def test_a_200_question_agenda_keeps_its_first_questions(fitter):
    text, ids, report = fitter.fit(SYSTEM, _user(MANY_AGENDA), BUDGET)
    assert len(ids) <= BUDGET
    questions = _questions(text)
    kept = len(questions)
    assert 1 <= kept < 200
    assert report.questions_dropped == 200 - kept
    assert questions == [f"{i + 1}. {q}" for i, q in enumerate(MANY_AGENDA[:kept])]
    assert report.history_dropped == 2
    assert report.profile_lines_shortened == 0


@pytest.mark.parametrize("agenda", [LONG_AGENDA, MANY_AGENDA], ids=["long", "many"])
def test_fitting_is_deterministic(chat_tokenizer, agenda):
    first = PromptFitter(chat_tokenizer).fit(SYSTEM, _user(agenda), BUDGET)
    second = PromptFitter(chat_tokenizer).fit(SYSTEM, _user(agenda), BUDGET)
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert first[2] == second[2]


def test_policies_differ_in_what_they_give_up(chat_tokenizer):
    user = _user(MANY_AGENDA[:40])
    budget = len(encode_prompt(chat_tokenizer, SYSTEM, user)) - 15
    default = PromptFitter(chat_tokenizer, "shorten_questions").fit(
        SYSTEM, user, budget
    )
    keep = PromptFitter(chat_tokenizer, "keep_history").fit(SYSTEM, user, budget)
    # The default gives up the past questions; keep_history gives up agenda text.
    assert default[2].history_dropped == 2
    assert default[2].questions_dropped == 0
    assert keep[2].history_dropped == 0
    assert keep[2].questions_shortened + keep[2].questions_dropped > 0
    assert HISTORY_HEADER in keep[0]
    assert set(POLICIES) == {"shorten_questions", "drop_questions", "keep_history"}


def test_a_budget_below_the_layout_is_reported_unfit(fitter):
    text, ids, report = fitter.fit(SYSTEM, _user(LONG_AGENDA), 60)
    assert not report.fits
    assert report.shortened
    assert len(ids) > 60


def test_an_unknown_policy_is_refused(chat_tokenizer):
    with pytest.raises(ValueError, match="prompt_fitting"):
        PromptFitter(chat_tokenizer, "cut_anything")


def test_training_fits_long_prompts_instead_of_dropping_them(chat_tokenizer):
    pairs = pd.DataFrame(
        [
            {
                "project_id": pid,
                "expert_id": "A-7",
                "agenda": agenda,
                "system": SYSTEM,
                "input": _user(agenda),
                "output": out,
                "source": "full",
            }
            for pid, agenda, out in [
                ("p-long", LONG_AGENDA, "yes"),
                ("p-many", MANY_AGENDA, "no"),
                ("p-short", ["How do German hospitals buy pumps?"], "yes"),
            ]
        ]
    )
    dataset = tokenize_pairs(pairs, chat_tokenizer, max_length=BUDGET, name="t")
    assert dataset["project_id"] == ["p-long", "p-many", "p-short"]
    assert dataset["prompt_shortened"] == [True, True, False]
    assert dataset["truncated"] == [False, False, False]
    assert all(n <= BUDGET for n in dataset["length"])
    # The answer is trained on in every example.
    answers = [[t for t in labels if t != -100] for labels in dataset["labels"]]
    yes = chat_tokenizer("yes", add_special_tokens=False)["input_ids"][0]
    assert answers[0][0] == yes
    assert all(answers)

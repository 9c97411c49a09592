"""benchmarks/site_signals.py (the signals of candidate_signals.py): they use no
evaluated question and no later one."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from expert_kedro.importers.stackexchange import read_records
from tests.benchmarks.modules import benchmark_module
from tests.importers import tiny_site

ROSTER = ["1", "2", "3"]


@pytest.fixture(scope="module")
def signals():
    return benchmark_module("site_signals")


@pytest.fixture(scope="module")
def records():
    parsed, problems = read_records(
        tiny_site.site_texts()["Record_All.json"], "tiny/Record_All.json"
    )
    assert problems == []
    return parsed


@pytest.fixture(scope="module")
def known(signals, records):
    """Cut at question 60; project 90 (experts 2 and 3) is the one train project."""
    train = pd.DataFrame({"project_id": ["90", "90"], "expert_id": ["2", "3"]})
    return signals.known_answerers(records, 60, ROSTER, train)


def test_known_questions_are_the_profile_period_and_training(known):
    """Held-out projects 70 and 120 are not known; answerers outside the roster
    (4, 5) are left out; an answerer named twice counts once."""
    assert sorted(known) == [10, 20, 30, 40, 50, 60, 90]
    assert known[30] == {"1", "2"}
    assert known[50] == {"3"}
    assert known[60] == set()
    assert known[90] == {"2", "3"}


def test_tag_counts_come_from_known_questions_only(signals, records, known):
    score = signals.tag_signal(records, known)
    # Question 110 ("mysql"): expert 1 answered the known 10 and 20 (both mysql),
    # expert 2 only 10, expert 3 only 20.
    assert score(110, "1") == pytest.approx(1.0986, abs=1e-4)
    assert score(110, "2") == score(110, "3") == pytest.approx(0.6931, abs=1e-4)
    # Question 90 (a train project, "partitioning") never counts for itself: no
    # other known question carries its tag.
    assert [score(90, e) for e in ROSTER] == [0.0, 0.0, 0.0]
    # Held-out questions' tags ("replication", "tuning") reach no expert.
    assert score(70, "1") == score(120, "1") == 0.0


def test_recent_activity_counts_only_earlier_questions(signals, known):
    """As of question 90: the last two known questions before it are 50 and 60
    (only expert 3 answered); 90's own answerers do not count."""
    score = signals.recent_signal(known, window=2)
    assert [score(90, e) for e in ROSTER] == [0.0, 0.0, 1.0]
    # As of 35: questions 20 and 30.
    assert [score(35, e) for e in ROSTER] == [2.0, 1.0, 1.0]
    # A later question sees the train project 90.
    assert [score(120, e) for e in ROSTER] == [0.0, 1.0, 1.0]


def test_latest_activity_is_one_prior_for_every_question(signals, known):
    """The last two known questions overall are 60 and 90, whatever the question."""
    score = signals.latest_signal(known, window=2)
    assert [score(35, e) for e in ROSTER] == [score(120, e) for e in ROSTER]
    assert [score(35, e) for e in ROSTER] == [0.0, 1.0, 1.0]


def test_asker_history_counts_only_the_askers_earlier_known_questions(
    signals, records, known
):
    """Asker 9 asked 10, 20, 50, 60 (profile period) and 90 (train) before 120:
    expert 1 answered 10 and 20, 2 answered 10 and 90, 3 answered 20, 50 and 90.
    Held-out 70 and 80 (also asker 9) count for nobody; 90 does not count itself."""
    score = signals.asker_signal(records, known)
    assert [score(120, e) for e in ROSTER] == [2.0, 2.0, 3.0]
    assert [score(90, e) for e in ROSTER] == [2.0, 1.0, 2.0]
    # Asker 8 asked nothing before question 30.
    assert [score(30, e) for e in ROSTER] == [0.0, 0.0, 0.0]


def test_decay_weighs_earlier_answers_by_their_distance(signals, known):
    """As of 90 (known order 10, 20, 30, 40, 50, 60): expert 1 answered 10, 20, 30,
    3 to 5 known questions back; expert 3 answered 20 and 50 (4 and 1 back); 90's
    own answerers do not count."""
    score = signals.decay_signal(known, tau=10)
    assert score(90, "1") == pytest.approx(sum(math.exp(-g / 10) for g in (5, 4, 3)))
    assert score(90, "3") == pytest.approx(math.exp(-0.4) + math.exp(-0.1))
    # As of 120, project 90 is 0 questions back (weight 1) and every earlier answer
    # one more step back.
    assert score(120, "2") == pytest.approx(1.0 + math.exp(-0.1) * score(90, "2"))


def test_gap_is_how_lately_not_how_often(signals, known):
    """As of 90: expert 1 last answered 30 (3 known questions since), 2 answered 40
    (2 since), 3 answered 50 (1 since); before any answer the score is 0."""
    score = signals.gap_signal(known)
    assert [score(90, e) for e in ROSTER] == [0.25, 1 / 3, 0.5]
    assert [score(120, e) for e in ROSTER] == [0.2, 1.0, 1.0]
    assert score(15, "3") == 0.0


def test_question_text_scores_an_expert_by_their_best_known_questions(signals, known):
    """Expert 3 answered 50 (about partitioning), expert 1 never did: a question on
    partitioning scores 3 above 1. The held-out question 70 is never indexed, so
    sharing its words ("replication lag") gives nobody a score."""
    texts = {q: "backup restore" for q in known}
    texts[50] = "table partitioning scheme"
    texts[70] = "replication lag"
    texts[120] = "partitioning replication lag"
    score = signals.question_signal(texts, known, top=1)
    assert score(120, "3") > 0.0
    assert score(120, "1") == 0.0
    assert signals.question_signal(texts, known, top=3)(120, "3") >= score(120, "3")
    texts[121] = "replication lag"
    assert [score(121, e) for e in ROSTER] == [0.0, 0.0, 0.0]
    # A known (train) question is never scored against itself: 90's own words
    # reach its answerers 2 and 3 only through their other known questions.
    texts[90] = "zebra unique words"
    alone = signals.question_signal(texts, known, top=1)
    assert [alone(90, e) for e in ROSTER] == [0.0, 0.0, 0.0]

"""Long agendas through inference and evaluation ranking: fitted, counted, never
aborted (a tiny random Llama with SmolLM2's real tokenizer, the toy roster, BM25)."""

from __future__ import annotations

import dataclasses
import json
import logging

import pandas as pd
import pytest

from expert_kedro.evaluation.llm_systems import rank_system
from expert_kedro.modeling.base_model import load_tokenizer
from expert_kedro.recommender.agenda_table import parse_agenda_table
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.service import recommend
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import BM25Retriever, build_expert_documents
from expert_kedro.retrieval.base import top_k
from expert_kedro.scoring.scorer import LLMScorer
from expert_kedro.training_data.rerank_pairs import ExpertHistory
from tests.retrieval.toy_roster import QUERIES, make_toy_roster, make_toy_train_pairs

BUDGET = 384
LONG = [
    "Infusion pumps in German hospitals",
    (
        "How do hospital groups in Germany tender infusion pumps, and which vendors "
        "gained share after the last framework contracts? "
    )
    * 200,
]
LONG[1] = LONG[1][:20_000]
MANY = [
    f"Question {i}: how is demand for infusion pump model {i} changing?"
    for i in range(200)
]
SETTINGS = RecommenderSettings.from_params(
    {"top_k": 3, "candidates": 3, "max_prompt_tokens": BUDGET, "agenda_batch": 2}
)


@pytest.fixture(scope="module")
def parts(tiny_model):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    roster = make_toy_roster()
    pairs = make_toy_train_pairs()
    retriever = BM25Retriever().fit(build_expert_documents(roster, pairs))
    return model, load_tokenizer(str(tiny_model)), Roster(roster), retriever, pairs


def _ranker(parts, budget: int = BUDGET) -> RerankRanker:
    model, tokenizer, roster, retriever, pairs = parts
    scorer = LLMScorer(model, tokenizer, max_prompt_tokens=budget, batch_size=8)
    return RerankRanker(
        scorer,
        roster,
        retriever,
        SETTINGS.rerank_system_prompt,
        candidates=3,
        retrieval_weight=0.5,
        history=ExpertHistory(pairs),
        history_questions=2,
        candidate_region=True,
        agenda_region="compare",
    )


def _agendas() -> pd.DataFrame:
    assert len(LONG[1]) == 20_000
    return parse_agenda_table(
        pd.DataFrame(
            {
                "case_id": ["long", "many", "short"],
                "agenda": [json.dumps(a) for a in (LONG, MANY, QUERIES[202])],
            }
        )
    )


def test_inference_ranks_long_agendas_and_says_it_shortened_them(parts, caplog):
    ranker = _ranker(parts)
    with caplog.at_level(logging.INFO):
        table, metrics = recommend(ranker, _agendas(), SETTINGS)
    assert table.groupby("case_id")["rank"].apply(list).to_dict() == {
        case: [1, 2, 3] for case in ("long", "many", "short")
    }
    fitting = metrics["prompt_fitting"]
    assert fitting["prompts"] == 9  # 3 agendas x 3 candidates
    assert fitting["cases_shortened"] == 2
    assert fitting["shortened_case_ids"] == ["long", "many"]
    assert fitting["prompts_shortened"] == 6
    assert fitting["questions_shortened"] >= 3  # the long question, per candidate
    assert fitting["questions_dropped"] >= 3 * 150
    # Per agenda: the long question is cut; most of the 200 questions are left out.
    assert fitting["agenda_questions_shortened"] == 1
    assert 150 <= fitting["agenda_questions_dropped"] < 200
    assert fitting["fallback_cases"] == 0
    assert fitting["max_prompt_tokens"] == BUDGET
    lines = [r for r in caplog.records if "prompts shortened" in r.getMessage()]
    assert len(lines) == 1  # one summary line per run, not one per case


def test_every_scored_prompt_is_within_the_budget(parts):
    ranker = _ranker(parts)
    users = [ranker.candidate_input(agenda, "202") for agenda in (LONG, MANY)]
    fitted = ranker.scorer.fit_many(ranker.system, users, ["long", "many"])
    assert all(ids is not None and len(ids) <= BUDGET for ids in fitted)
    again = ranker.scorer.fit_many(ranker.system, users, ["long", "many"])
    assert fitted == again


def test_a_case_that_cannot_fit_is_ranked_by_the_retriever_and_counted(parts):
    ranker = _ranker(parts, budget=60)  # below the system prompt and headers
    scored = ranker.score_candidates([LONG, QUERIES[202]], ["long", "short"])
    assert [s.fallback for s in scored] == [True, True]
    ids, _ = ranker.rank_scored(scored, k=3)[0]
    retrieval, _ = top_k(ranker.retriever.score_all([LONG]), ranker.expert_ids, 3)
    assert ids == [str(e) for e in retrieval[0]]
    summary = ranker.scorer.fitting.summary()
    assert summary["fallback_cases"] == 2
    assert summary["fallback_case_ids"] == ["long", "short"]


def test_generative_fallback_keeps_the_batch_going(parts):
    ranker = _ranker(parts, budget=8)  # below the chat template alone
    generative = GenerativeRanker(ranker.scorer, ranker.roster, "Recommend.")
    ranked = generative.rank_many_with_scores([LONG, MANY], 2, ["long", "many"])
    assert [len(ids) for ids, _ in ranked] == [2, 2]
    assert ranker.scorer.fitting.summary()["fallback_case_ids"] == ["long", "many"]


def test_evaluation_ranking_counts_fitting_per_set_and_never_aborts(parts, caplog):
    ranker = _ranker(parts)
    projects = pd.DataFrame(
        {
            "project_id": ["v1", "v2"],
            "agenda": [QUERIES[202], QUERIES[303]],
            "acceptable_expert_ids": [["202"], ["303"]],
        }
    )
    test = pd.DataFrame(
        {
            "project_id": ["t-long", "t-many", "t-short"],
            "agenda": [LONG, MANY, QUERIES[101]],
            "acceptable_expert_ids": [["202"], ["202"], ["101"]],
        }
    )
    sets = {
        ("validation", "full"): projects,
        ("test", "full"): test,
        ("test", "partial"): test.iloc[:0],  # no agenda long enough for a variant
    }
    settings = dataclasses.replace(SETTINGS, weight_grid=(0.0, 0.5, 1.0))
    with caplog.at_level(logging.INFO):
        rankings, report = rank_system(ranker, settings, sets, "")
    by_set = report["prompt_fitting"]
    assert by_set["validation/full"]["cases_shortened"] == 0
    assert by_set["test/full"]["cases_shortened"] == 2
    assert by_set["test/full"]["shortened_case_ids"] == ["t-long", "t-many"]
    assert by_set["test/full"]["fallback_cases"] == 0
    assert by_set["test/partial"]["prompts"] == 0
    ranked = rankings[rankings["split"] == "test"]
    assert sorted(ranked["project_id"].unique()) == ["t-long", "t-many", "t-short"]
    assert set(ranked["variant"]) == {"full"}
    assert "llm_rerank prompt fitting" in caplog.text
    assert "test/full: 6/9 prompts, 2 cases shortened" in caplog.text

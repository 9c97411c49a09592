"""Back-tests at inference: ``new_agendas.as_of`` moves the recent-activity term
(the toy roster's real index with recency, a tiny random Llama, the real scorer)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from expert_kedro.modeling.base_model import load_tokenizer
from expert_kedro.recommender.agenda_table import parse_agenda_table
from expert_kedro.recommender.generative import GenerativeRanker
from expert_kedro.recommender.grounding import Roster
from expert_kedro.recommender.rerank import RerankRanker
from expert_kedro.recommender.service import recommend
from expert_kedro.recommender.settings import RecommenderSettings
from expert_kedro.retrieval import (
    RetrievalSettings,
    Timeline,
    as_of_times,
    build_expert_documents,
    fit_retrieval_index,
    tune_retrieval_index,
)
from expert_kedro.scoring.scorer import LLMScorer
from tests.retrieval.toy_roster import make_toy_roster, make_toy_train_pairs

SETTINGS = RecommenderSettings.from_params(
    {"top_k": 1, "candidates": 4, "agenda_batch": 2}
)
VAGUE = json.dumps(["Who can help us with our project?"])


@pytest.fixture(scope="module")
def ranker(tiny_model) -> RerankRanker:
    """All fusion weight on the retriever, all retriever weight on the last two
    training projects' answerers (toy projects 1001-1007 are answered by, in id
    order: 101, 101, 202, 202, 202, 303, 404)."""
    from transformers import AutoModelForCausalLM

    pairs = make_toy_train_pairs()
    roster = make_toy_roster()
    settings = RetrievalSettings.from_params(
        {
            "hybrid": {"bm25_weight": 0.4},
            "prior": {"weight": 0.0},
            "recency": {"time_from": "project_id", "window": 2, "weight": 1.0},
        }
    )
    timeline = Timeline.from_pairs(
        pairs, pairs, roster["expert_id"].tolist(), "project_id"
    )
    documents = build_expert_documents(roster, pairs, timeline=timeline)
    index = tune_retrieval_index(fit_retrieval_index(documents, settings), None)
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    scorer = LLMScorer(model, load_tokenizer(str(tiny_model)), batch_size=8)
    return RerankRanker(
        scorer,
        Roster(roster),
        index,
        SETTINGS.rerank_system_prompt,
        candidates=4,
        retrieval_weight=1.0,
        history=None,
        history_questions=0,
        candidate_region=False,
        agenda_region=False,
    )


def _table(as_of: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(len(as_of))],
            "agenda": [VAGUE] * len(as_of),
            "as_of": as_of,
        }
    )


def _top(ranker, table: pd.DataFrame) -> list[str]:
    recommendations, _ = recommend(ranker, parse_agenda_table(table), SETTINGS)
    return recommendations.sort_values("case_id")["expert_id"].tolist()


def test_as_of_scores_each_agenda_at_its_date_and_empty_means_now(ranker, caplog):
    with caplog.at_level(logging.INFO):
        top = _top(ranker, _table(["1003", " 1006 ", "", "9999"]))
    # Before 1003: 1001 and 1002 (101); before 1006: 1004, 1005 (202); now and
    # 9999: 1006, 1007 (303 and 404, tied; the same order either way).
    assert top[:2] == ["101", "202"]
    assert top[2] == top[3] in {"303", "404"}
    assert any("3 of 4 agendas" in r.getMessage() for r in caplog.records)
    # Without the column every agenda is scored as of now.
    plain = _table(["1003", "1006"]).drop(columns="as_of")
    assert _top(ranker, plain) == [top[2], top[2]]


def test_an_unreadable_as_of_names_the_case(ranker):
    table = _table(["1003", "last spring", "2.1e5x"])
    with pytest.raises(ValueError, match=r"\['c1', 'c2'\] is not a project id"):
        _top(ranker, table)


def test_dates_are_read_for_a_created_at_timeline():
    pairs = make_toy_train_pairs()
    dated = pairs.assign(created_at=pd.Timestamp("2024-01-01"))
    timeline = Timeline.from_pairs(pairs, dated, [101, 202, 303, 404], "created_at")
    times = as_of_times(timeline, ["2024-03-01", "", None], ["a", "b", "c"])
    assert times[0] == pd.Timestamp("2024-03-01", tz="UTC").timestamp()
    assert np.isnan(times[1:]).all()
    with pytest.raises(ValueError, match=r"\['b'\] is not a date"):
        as_of_times(timeline, ["2024-03-01", "project 7"], ["a", "b"])


def test_as_of_without_a_recent_activity_term_is_said_once(ranker, caplog):
    generative = GenerativeRanker(ranker.scorer, ranker.roster, "Recommend.")
    settings = RecommenderSettings.from_params({"top_k": 1, "mode": "generative"})
    with caplog.at_level(logging.WARNING):
        table, _ = recommend(generative, parse_agenda_table(_table(["1003"])), settings)
    assert len(table) == 1
    said = [r for r in caplog.records if "as_of" in r.getMessage()]
    assert len(said) == 1 and "generative mode" in said[0].getMessage()


def test_the_inference_pipeline_reads_as_of_before_it_loads_the_model(ranker):
    """``parse_new_agendas`` checks ``as_of`` against the saved index's timeline,
    and ``load_recommender`` waits for it: a bad cell costs no model load."""
    from expert_kedro.pipeline_registry import register_pipelines  # noqa: PLC0415
    from expert_kedro.pipelines.inference.nodes import (  # noqa: PLC0415
        parse_new_agendas,
    )

    with pytest.raises(ValueError, match=r"\['c1'\] is not a project id"):
        parse_new_agendas(_table(["1003", "last spring"]), ranker.retriever)
    assert len(parse_new_agendas(_table(["1003", ""]), ranker.retriever)) == 2
    order = [n.name for n in register_pipelines()["inference"].nodes]
    assert order.index("parse_new_agendas_node") < order.index("load_recommender_node")

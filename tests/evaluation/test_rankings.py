"""The rankings contract shared by baselines and plugged-in (LLM) systems."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from expert_kedro.evaluation.rankings import (
    RANKING_COLUMNS,
    rank_with_recommender,
    rank_with_retriever,
    ranked_lists,
    validate_rankings,
)
from expert_kedro.retrieval import BM25Retriever, build_expert_documents
from tests.retrieval.toy_roster import make_toy_roster, make_toy_train_pairs

PROJECTS = pd.DataFrame(
    {
        "project_id": ["1", "2"],
        "agenda": [["Pix payments in Brazil?"], ["Infusion pump tenders in Germany?"]],
        "acceptable_expert_ids": [["303"], ["202"]],
    }
)


class KeywordRecommender:
    """A list-only system: names experts whose keyword appears in the agenda."""

    name = "keyword"

    def __init__(self, keywords: dict[str, int | str]) -> None:
        self.keywords = keywords

    def rank(self, agendas: Sequence[Sequence[str]], k: int) -> list[list[int | str]]:
        return [
            [eid for word, eid in self.keywords.items() if word in " ".join(a)][:k]
            for a in agendas
        ]


def test_rank_with_retriever_ranks_the_whole_roster():
    toy_bm25 = BM25Retriever().fit(
        build_expert_documents(make_toy_roster(), make_toy_train_pairs())
    )
    table = rank_with_retriever(toy_bm25, PROJECTS, split="test", variant="full")
    assert list(table.columns) == list(RANKING_COLUMNS)
    assert len(table) == 2 * 4
    validate_rankings(table, toy_bm25.expert_ids)
    lists, missing = ranked_lists(table, ["1", "2", "3"])
    # Ids come out as text, whatever type the roster gave them.
    assert [lst[0] for lst in lists[:2]] == ["303", "202"]
    assert lists[2] == [] and missing == 1
    top2 = rank_with_retriever(
        toy_bm25, PROJECTS, split="test", variant="full", depth=2
    )
    assert top2.groupby("project_id").size().tolist() == [2, 2]


def test_rank_with_recommender_accepts_short_lists():
    recommender = KeywordRecommender({"Pix": 303, "Brazil": 505, "pump": 202})
    table = rank_with_recommender(
        recommender, PROJECTS, split="test", variant="partial", k=5
    )
    assert table[table["project_id"] == "1"]["expert_id"].tolist() == ["303", "505"]
    assert table[table["project_id"] == "2"]["rank"].tolist() == [1]
    assert set(table["system"]) == {"keyword"}
    with pytest.raises(ValueError, match="505.*not in the roster"):
        validate_rankings(table, [202, 303])


def _rows(*rows):
    return pd.DataFrame(
        [("s", "test", "full", pid, rank, eid, 0.0) for pid, rank, eid in rows],
        columns=list(RANKING_COLUMNS),
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_rows((1, 1, 10), (1, 2, 10)), "twice"),
        (_rows((1, 1, 10), (1, 3, 11)), "run 1..n"),
        (_rows((1, 2, 10)), "run 1..n"),
        (_rows((1, 1, 10)).assign(split="train"), "unknown split"),
        (_rows((1, 1, 10)).drop(columns="score"), "lacks column"),
    ],
)
def test_validate_rankings_names_the_violation(table, message):
    with pytest.raises(ValueError, match=message):
        validate_rankings(table, [10, 11])


def test_text_ids_are_never_parsed():
    projects = pd.DataFrame(
        {"project_id": ["0042", "42"], "agenda": [["Pix?"], ["pump?"]]}
    )
    recommender = KeywordRecommender({"Pix": "A-17", "pump": "017"})
    table = rank_with_recommender(
        recommender, projects, split="test", variant="full", k=1
    )
    assert table[["project_id", "expert_id"]].values.tolist() == [
        ["0042", "A-17"],
        ["42", "017"],
    ]
    validate_rankings(table, ["A-17", "017"])
    with pytest.raises(ValueError, match="017.*not in the roster"):
        validate_rankings(table, ["A-17", "17"])
    lists, missing = ranked_lists(table, ["42", "0042"])
    assert lists == [["017"], ["A-17"]] and missing == 0

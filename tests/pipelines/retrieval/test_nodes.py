"""Nodes of the retrieval pipeline on the toy roster: TRAIN only, leaks refused."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.pipelines.retrieval.nodes import build_retrieval_documents
from expert_kedro.retrieval import IndexLeakageError
from tests.retrieval.toy_roster import make_toy_roster, make_toy_train_pairs

PARAMS = {"index": {"include_answers": True}}


def _projects(rows: list[tuple[int, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["project_id", "agenda"]).assign(
        acceptable_expert_ids=[[101]] * len(rows)
    )


def _answers(train_pairs: pd.DataFrame) -> pd.DataFrame:
    return train_pairs.assign(
        responses=[[{"question": "q", "answer": "TRAIN ANSWER"}]] * len(train_pairs)
    )


def test_documents_hold_train_projects_and_answers():
    train = make_toy_train_pairs()
    documents = build_retrieval_documents(
        make_toy_roster(),
        train,
        _answers(train),
        _projects([(1, ["A new validation question?"])]),
        _projects([(2, ["A new test question?"])]),
        PARAMS,
    )
    assert documents.indexed_project_ids == frozenset(map(str, train["project_id"]))
    assert all("TRAIN ANSWER" in text for text in documents.bm25_texts())
    without = build_retrieval_documents(
        make_toy_roster(),
        train,
        _answers(train),
        _projects([(1, ["A new validation question?"])]),
        _projects([(2, ["A new test question?"])]),
        {"index": {"include_answers": False}},
    )
    assert not any("TRAIN ANSWER" in text for text in without.bm25_texts())


def test_a_test_project_in_the_train_pairs_is_refused():
    train = make_toy_train_pairs()
    leaked = train.iloc[0]
    test_projects = _projects([(int(leaked["project_id"]), ["Reworded agenda?"])])
    with pytest.raises(
        IndexLeakageError, match=r"test projects leak .*1 by project_id"
    ):
        build_retrieval_documents(
            make_toy_roster(),
            train,
            _answers(train),
            _projects([(1, ["A new validation question?"])]),
            test_projects,
            PARAMS,
        )
    same_agenda = _projects([(999, list(leaked["agenda"]))])
    with pytest.raises(IndexLeakageError, match=r"validation .*1 by identical agenda"):
        build_retrieval_documents(
            make_toy_roster(),
            train,
            _answers(train),
            same_agenda,
            _projects([(2, ["A new test question?"])]),
            PARAMS,
        )


def test_unknown_parameter_is_named():
    train = make_toy_train_pairs()
    with pytest.raises(
        ValueError, match=r"Unknown parameter\(s\) \[.retrieval.bm25.k2.\]"
    ):
        build_retrieval_documents(
            make_toy_roster(),
            train,
            _answers(train),
            _projects([]),
            _projects([]),
            {"bm25": {"k2": 1.0}},
        )

"""Expert documents are built from TRAIN pairs only; the leakage check bites."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.retrieval import (
    BM25Retriever,
    IndexLeakageError,
    build_expert_documents,
    check_no_leakage,
)


def _projects(rows):
    return pd.DataFrame(rows, columns=["project_id", "agenda", "acceptable_expert_ids"])


def test_documents_follow_roster_order_and_hold_training_agendas(
    toy_roster, toy_train_pairs, toy_documents
):
    assert toy_documents.expert_ids.tolist() == toy_roster["expert_id"].tolist()
    assert len(toy_documents.agendas[1]) == 3  # expert 202
    assert "Munich, Germany" in toy_documents.profiles[1]
    assert toy_documents.indexed_project_ids == frozenset(
        str(p) for p in toy_train_pairs["project_id"]
    )
    assert "German hospitals" in toy_documents.bm25_texts()[1]


def test_off_roster_pairs_are_ignored_and_empty_agendas_rejected(toy_roster, caplog):
    pairs = pd.DataFrame(
        [
            {"project_id": 1, "expert_id": 101, "agenda": ["Fab tools?"]},
            {"project_id": 2, "expert_id": 999, "agenda": ["Unknown expert?"]},
        ]
    )
    documents = build_expert_documents(toy_roster, pairs)
    assert sum(len(a) for a in documents.agendas) == 1
    assert "not in the roster" in caplog.text
    bad = pd.DataFrame([{"project_id": 3, "expert_id": 101, "agenda": []}])
    with pytest.raises(ValueError, match="project_id=3, expert_id=101"):
        build_expert_documents(toy_roster, bad)
    with pytest.raises(ValueError, match="lacks column"):
        build_expert_documents(toy_roster, pairs.drop(columns="agenda"))


def test_answers_come_only_from_train_pairs(toy_roster, toy_train_pairs):
    first = toy_train_pairs.iloc[0]
    answers = pd.DataFrame(
        [
            {
                "project_id": first["project_id"],
                "expert_id": first["expert_id"],
                "responses": [{"question": "q", "answer": "TRAIN ANSWER"}],
            },
            {
                "project_id": 777777,  # a held-out project
                "expert_id": first["expert_id"],
                "responses": [{"question": "q", "answer": "HELD OUT ANSWER"}],
            },
        ]
    )
    documents = build_expert_documents(toy_roster, toy_train_pairs, answers)
    text = " ".join(documents.bm25_texts())
    assert "TRAIN ANSWER" in text and "HELD OUT ANSWER" not in text


def test_leakage_check_passes_on_clean_splits(toy_documents):
    heldout = _projects([(5001, ["A brand new question?"], [101])])
    assert check_no_leakage(toy_documents, {"test": heldout}) == {"test": 1}


def test_leakage_check_catches_indexed_project_id(toy_roster, toy_train_pairs):
    leaked = toy_train_pairs.iloc[[0]]
    heldout = _projects([(int(leaked["project_id"].iloc[0]), ["Other words?"], [101])])
    documents = build_expert_documents(toy_roster, toy_train_pairs)
    with pytest.raises(
        IndexLeakageError, match="validation projects leak.*1 by project_id"
    ):
        check_no_leakage(documents, {"validation": heldout})


def test_leakage_check_catches_identical_agenda_and_fitted_index(
    toy_roster, toy_train_pairs
):
    # A test project fed into the index under a fresh id: caught by its agenda,
    # even with different case and spacing.
    test = _projects([(9001, ["Where  are CONTAINER rates going?"], [404])])
    leaky_pairs = pd.concat(
        [
            toy_train_pairs,
            pd.DataFrame(
                [
                    {
                        "project_id": 42,
                        "expert_id": 404,
                        "agenda": ["Where are container rates going?"],
                    }
                ]
            ),
        ]
    )
    retriever = BM25Retriever().fit(build_expert_documents(toy_roster, leaky_pairs))
    with pytest.raises(IndexLeakageError, match="1 by identical agenda"):
        check_no_leakage(retriever.documents, {"test": test})

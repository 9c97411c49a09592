"""Fixtures over the toy roster of ``toy_roster.py``."""

from __future__ import annotations

import pandas as pd
import pytest

from expert_kedro.retrieval import (
    BM25Retriever,
    DenseRetriever,
    build_expert_documents,
    load_sentence_encoder,
)

from .toy_roster import make_toy_index, make_toy_roster, make_toy_train_pairs


@pytest.fixture(scope="session")
def toy_roster() -> pd.DataFrame:
    return make_toy_roster()


@pytest.fixture(scope="session")
def toy_train_pairs() -> pd.DataFrame:
    return make_toy_train_pairs()


@pytest.fixture(scope="session")
def toy_documents(toy_roster, toy_train_pairs):
    return build_expert_documents(toy_roster, toy_train_pairs)


@pytest.fixture(scope="session")
def toy_bm25(toy_documents) -> BM25Retriever:
    return BM25Retriever().fit(toy_documents)


@pytest.fixture(scope="session")
def toy_dense(toy_documents) -> DenseRetriever:
    return DenseRetriever(load_sentence_encoder(), profile_weight=0.3).fit(
        toy_documents
    )


@pytest.fixture(scope="session")
def toy_index():
    """Toy-roster RetrievalIndex, zscore fusion with a fixed BM25 weight of 0.4."""
    return make_toy_index()

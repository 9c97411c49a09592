"""top_k: exactly k distinct roster experts, deterministic ties, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from expert_kedro.retrieval import ScoringRecommender, agenda_text, top_k
from expert_kedro.retrieval.base import zscore_rows

ROSTER = np.array([11, 22, 33, 44, 55])


def test_top_k_orders_by_score_and_breaks_ties_by_roster_order():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    ids, top = top_k(scores, ROSTER, 3)
    assert ids.tolist() == [[22, 44, 33], [11, 22, 33]]
    assert top.tolist() == [[0.9, 0.9, 0.5], [1.0, 1.0, 1.0]]


@settings(max_examples=60, deadline=None)
@given(
    scores=arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.just(len(ROSTER))),
        elements=st.floats(-5, 5, allow_nan=False),
    ),
    k=st.integers(1, len(ROSTER)),
)
def test_top_k_returns_exactly_k_distinct_roster_experts(scores, k):
    ids, top = top_k(scores, ROSTER, k)
    assert ids.shape == (len(scores), k)
    for row, row_scores in zip(ids, top, strict=True):
        assert len(set(row.tolist())) == k
        assert set(row.tolist()) <= set(ROSTER.tolist())
        assert np.all(np.diff(row_scores) <= 0)


@pytest.mark.parametrize(
    ("scores", "ids", "k", "message"),
    [
        (np.zeros((1, 4)), ROSTER, 2, "columns"),
        (np.zeros((1, 5)), ROSTER, 0, "k must be"),
        (np.zeros((1, 5)), ROSTER, 6, "k must be"),
        (np.full((1, 5), np.nan), ROSTER, 2, "NaN"),
        (np.zeros((1, 5)), np.array([1, 1, 2, 3, 4]), 2, "duplicates"),
    ],
)
def test_top_k_rejects_bad_input(scores, ids, k, message):
    with pytest.raises(ValueError, match=message):
        top_k(scores, ids, k)


def test_scoring_recommender_adapts_toy_bm25(toy_bm25):
    recommender = ScoringRecommender(toy_bm25)
    ranked = recommender.rank([["Pix instant payments in Brazil?"]], k=3)
    assert recommender.name == "bm25"
    assert len(ranked[0]) == 3 and ranked[0][0] == 303


def test_agenda_text_and_zscore_rows():
    assert agenda_text([" What? ", "", "Why?"]) == "What? Why?"
    z = zscore_rows(np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]))
    assert z[0].mean() == pytest.approx(0.0) and z[0].std() == pytest.approx(1.0)
    assert z[1].tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=80, deadline=None)
@given(
    scores=arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(2, 40)),
        elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.5]),  # many ties
    ),
    data=st.data(),
)
def test_top_k_equals_the_first_k_of_a_stable_full_sort(scores, data):
    k = data.draw(st.integers(1, scores.shape[1]))
    ids = np.arange(100, 100 + scores.shape[1])
    got, top = top_k(scores, ids, k)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    assert np.array_equal(got, ids[order])
    assert np.array_equal(top, np.take_along_axis(scores, order, axis=1))

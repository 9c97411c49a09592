"""Cross-fitted candidate lists: a training agenda is ranked by an index that never
indexed its project (real BM25, MiniLM and timeline on the toy roster)."""

from __future__ import annotations

import numpy as np
import pytest

from expert_kedro.pipelines.rerank_pairs.nodes import build_rerank_pairs
from expert_kedro.retrieval import CrossFittedScorer, cross_fitted_scorer
from expert_kedro.retrieval.cross_fit import assign_folds
from expert_kedro.training_data.settings import RerankPairsSettings
from tests.training_data.activity_toys import (
    ROSTER,
    toy_index,
    toy_pairs,
    toy_validation,
)

PROJECTS = [str(p) for p in range(1001, 1008)]


@pytest.fixture(scope="module")
def pairs():
    return toy_pairs()


@pytest.fixture(scope="module")
def index(pairs):
    return toy_index(pairs)


@pytest.fixture(scope="module")
def scorer(index, pairs):
    return cross_fitted_scorer(index, ROSTER, pairs, pairs, folds=2, seed=13)


def test_folds_are_seeded_balanced_and_cover_every_project():
    folds = assign_folds(PROJECTS + ["1001"], 3, seed=13)
    assert sorted(folds) == PROJECTS
    assert sorted(np.bincount(list(folds.values()))) == [2, 2, 3]
    assert folds == assign_folds(list(reversed(PROJECTS)), 3, seed=13)
    assert folds != assign_folds(PROJECTS, 3, seed=14)


@pytest.mark.parametrize("folds", [1, 8])
def test_fold_counts_outside_two_to_the_project_count_are_refused(folds):
    with pytest.raises(ValueError, match="cross_fit_folds"):
        assign_folds(PROJECTS, folds, seed=13)


def test_each_training_project_is_ranked_by_an_index_without_its_fold(scorer, index):
    folds = assign_folds(PROJECTS, 2, seed=13)
    for project_id, fold_index in scorer.fold_indexes.items():
        fold = {p for p, f in folds.items() if f == folds[project_id]}
        assert not fold & fold_index.indexed_project_ids
        assert set(PROJECTS) - fold <= fold_index.indexed_project_ids
        assert fold_index.bm25_weight == index.bm25_weight
        assert fold_index.recency_weight == index.recency_weight
    assert len({id(i) for i in scorer.fold_indexes.values()}) == 2


def test_training_rows_use_their_fold_index_and_other_rows_the_saved_one(
    scorer, index, pairs
):
    agendas = [list(a) for a in pairs["agenda"]] + [["Pix payments in Brazil?"]]
    ids = [*pairs["project_id"], "1008"]
    times = np.arange(len(ids), dtype=float) + 1000
    got = scorer.score_all(agendas, ids, times)
    for row, project_id in enumerate(ids):
        expected = scorer.fold_indexes.get(project_id, index).score_all(
            [agendas[row]], times[row : row + 1]
        )[0]
        # MiniLM embeds a batch of one and a batch of eight apart: float noise.
        np.testing.assert_allclose(got[row], expected, atol=1e-5)
    np.testing.assert_allclose(
        got[-1], index.score_all(agendas[-1:], times[-1:])[0], atol=1e-5
    )
    # The saved index holds each training agenda; the fold index does not.
    assert not np.allclose(got[:-1], index.score_all(agendas[:-1], times[:-1]))


def test_without_folds_the_saved_index_scores_everything(index, pairs):
    agendas = [list(a) for a in pairs["agenda"]]
    plain = CrossFittedScorer(index, {})
    np.testing.assert_allclose(
        plain.score_all(agendas, list(pairs["project_id"])),
        index.score_all(agendas),
        atol=1e-5,
    )


def test_rerank_pairs_report_the_folds(index, pairs):
    validation_pairs, validation_projects = toy_validation()
    train, _, report = build_rerank_pairs(
        pairs,
        pairs.iloc[:0],
        validation_pairs,
        validation_projects,
        ROSTER,
        pairs,
        index,
        {"mode": "rerank"},
        {"hard_negatives": 2, "random_negatives": 0, "cross_fit_folds": 2},
    )
    assert report["cross_fit_folds"] == 2
    assert set(train["output"]) == {"yes", "no"}


def test_one_fold_is_refused_by_name():
    with pytest.raises(ValueError, match=r"rerank_pairs\.cross_fit_folds"):
        RerankPairsSettings.from_params({"cross_fit_folds": 1})

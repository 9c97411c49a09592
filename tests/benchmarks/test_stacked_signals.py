"""benchmarks/stacked_signals.py: the listwise linear fit and its choice of C."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmarks.modules import benchmark_module

ROSTER = [f"e{i}" for i in range(6)]


@pytest.fixture(scope="module")
def stacked():
    return benchmark_module("stacked_signals")


def _projects(seed: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Projects whose answerer is told by feature 0; feature 1 is noise."""
    rng = np.random.default_rng(seed)
    matrices, labels = [], []
    for _ in range(n):
        answer = int(rng.integers(len(ROSTER)))
        features = rng.normal(size=(len(ROSTER), 2))
        features[answer, 0] += 3.0
        matrices.append(features)
        labels.append((np.arange(len(ROSTER)) == answer).astype(int))
    return matrices, labels


def test_listwise_fit_weighs_the_informative_signal(stacked):
    matrices, labels = _projects(0, 60)
    model = stacked.ListwiseModel(c=10.0).fit(matrices, labels)
    assert model.weights[0] > 1.0
    assert abs(model.weights[1]) < 0.5 * model.weights[0]
    held, held_labels = _projects(1, 40)
    ranked = stacked._rank(model, held, stacked.whole_roster(ROSTER, len(held)))
    acceptable = [[ROSTER[int(np.argmax(y))]] for y in held_labels]
    assert stacked._mrr(ranked, acceptable).mean() > 0.8


def test_listwise_gradient_matches_finite_differences(stacked):
    matrices, labels = _projects(2, 5)
    model = stacked.ListwiseModel(c=1.0)
    weights = np.array([0.7, -0.3])
    value, grad = model.objective(weights, matrices, labels)
    step = 1e-6
    for i in range(2):
        moved = weights.copy()
        moved[i] += step
        numeric = (model.objective(moved, matrices, labels)[0] - value) / step
        assert numeric == pytest.approx(grad[i], abs=1e-4)


def test_a_stronger_penalty_shrinks_the_weights(stacked):
    matrices, labels = _projects(2, 20)
    loose = stacked.ListwiseModel(c=10.0).fit(matrices, labels)
    strong = stacked.ListwiseModel(c=0.01).fit(matrices, labels)
    assert np.linalg.norm(strong.weights) < np.linalg.norm(loose.weights)


def test_choose_c_prefers_the_smaller_on_ties(stacked):
    matrices, labels = _projects(3, 25)
    acceptable = [[ROSTER[int(np.argmax(y))]] for y in labels]
    lists = stacked.whole_roster(ROSTER, len(matrices))
    best, scores = stacked.choose_c(matrices, labels, acceptable, lists)
    assert set(scores) == set(stacked.C_GRID)
    top = max(round(v, 6) for v in scores.values())
    assert best == min(c for c, v in scores.items() if round(v, 6) == top)

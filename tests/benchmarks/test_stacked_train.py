"""benchmarks/stacked_train.py: the tree model ranks by what tells the answerer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmarks.modules import benchmark_module

ROSTER = [f"e{i}" for i in range(8)]


@pytest.fixture(scope="module")
def stacked_train():
    return benchmark_module("stacked_train")


def _projects(seed: int, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The answerer is told by feature 0 only when feature 1 is high (an
    interaction a linear score cannot express)."""
    rng = np.random.default_rng(seed)
    matrices, labels = [], []
    for _ in range(n):
        features = rng.normal(size=(len(ROSTER), 2))
        score = features[:, 0] * (features[:, 1] > 0)
        answer = int(np.argmax(score))
        matrices.append(features)
        labels.append((np.arange(len(ROSTER)) == answer).astype(int))
    return matrices, labels


def test_trees_learn_an_interaction_the_linear_model_cannot(stacked_train):
    train, train_labels = _projects(0, 300)
    held, held_labels = _projects(1, 100)
    acceptable = [[ROSTER[int(np.argmax(y))]] for y in held_labels]
    trees = stacked_train.TreeModel(max_depth=3, learning_rate=0.1)
    linear = stacked_train.ListwiseModel(10.0)
    mrr = {}
    for name, model in (("trees", trees), ("linear", linear)):
        model.fit(train, train_labels)
        ranked = stacked_train._ranked(model, held, ROSTER)
        mrr[name] = stacked_train._mrr(ranked, acceptable).mean()
    assert mrr["trees"] > 0.75
    assert mrr["trees"] > mrr["linear"] + 0.1

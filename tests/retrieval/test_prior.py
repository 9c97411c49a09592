"""The activity prior: training bookings fused into the hybrid, tuned on validation."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expert_kedro.pipelines.retrieval.nodes import (
    build_retrieval_documents,
    fit_retrieval_index_parts,
    tune_retrieval_fusion,
)
from expert_kedro.retrieval import (
    PRIOR_SYSTEM,
    PriorFusedRetriever,
    RetrievalSettings,
    load_index,
    save_index,
    top_k,
)
from expert_kedro.retrieval.prior import add_prior, prior_signal

from .toy_roster import QUERIES, make_toy_index, make_toy_roster, make_toy_train_pairs

AGENDAS = list(QUERIES.values())
# Training agendas per toy expert (roster order 101, 202, 303, 404).
BOOKINGS = [2, 3, 1, 1]
VAGUE = [["Who can help us with our project?"], ["We need an expert call."]]


def _projects(agendas, acceptable, start=1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project_id": list(range(start, start + len(agendas))),
            "agenda": agendas,
            "acceptable_expert_ids": acceptable,
        }
    )


@pytest.mark.parametrize("fusion", ["zscore", "rrf"])
def test_prior_weight_zero_is_exactly_the_hybrid(fusion: str):
    index = make_toy_index(bm25_weight=0.4, fusion=fusion, prior_weight=0.0)
    hybrid = index.hybrid.score_all(AGENDAS)
    assert np.array_equal(index.score_all(AGENDAS), hybrid)
    assert np.array_equal(index.retrievers()[PRIOR_SYSTEM].score_all(AGENDAS), hybrid)
    pd.testing.assert_frame_equal(
        index.candidates(AGENDAS, k=3), index.hybrid.candidates(AGENDAS, k=3)
    )
    fused = PriorFusedRetriever(index.hybrid, np.arange(4.0), prior_weight=0.0)
    assert np.array_equal(fused.score_all(AGENDAS), hybrid)


def test_prior_is_the_log_bookings_in_the_fusion_form():
    index = make_toy_index(prior_weight=0.0)
    assert index.popularity_counts.tolist() == BOOKINGS
    logs = np.log1p(BOOKINGS)
    expected = (logs - logs.mean()) / logs.std()
    assert np.allclose(prior_signal(index.popularity_counts, "zscore", 60), expected)
    # rrf: 1 / (rrf_k + rank); ties (303, 404) in roster order.
    assert np.allclose(
        prior_signal(index.popularity_counts, "rrf", 60),
        [1 / 62, 1 / 61, 1 / 63, 1 / 64],
    )
    hybrid = index.hybrid.score_all(AGENDAS)
    assert np.allclose(
        add_prior(hybrid, expected, 0.25), 0.75 * hybrid + 0.25 * expected[None, :]
    )
    # All weight on the prior: the busiest expert (202) tops every agenda.
    only_prior = make_toy_index(prior_weight=1.0)
    ids, _ = top_k(only_prior.score_all(AGENDAS), only_prior.expert_ids, 1)
    assert ids[:, 0].tolist() == [202] * len(AGENDAS)
    with pytest.raises(ValueError, match="retrieval.prior.weight"):
        RetrievalSettings.from_params({"prior": {"weight": 1.5}})


def test_prior_weight_is_tuned_on_validation_and_travels_with_the_index(
    tmp_path: Path, caplog
):
    """Validation decides the weight; the saved index scores and logs with it."""
    roster, train = make_toy_roster(), make_toy_train_pairs()
    params = {"hybrid": {"bm25_weight": 0.4}, "index": {"include_answers": False}}
    documents = build_retrieval_documents(
        roster, train, pd.DataFrame(), _projects([], []), _projects([], []), params
    )
    untuned = fit_retrieval_index_parts(documents, params)
    # Vague agendas booked with the busiest expert: only the prior can find them.
    busy = _projects(VAGUE, [[202], [202]])
    index, report = tune_retrieval_fusion(untuned, busy)
    prior = index.tuning["prior"]
    assert prior["tuned_on"] == "validation" and prior["n_validation_projects"] == 2
    assert index.prior_weight > 0.0
    assert report["tuning"]["prior"]["prior_weight"] == index.prior_weight
    grid = pd.DataFrame(prior["grid"]).set_index("prior_weight")
    assert grid.loc[index.prior_weight, "mrr"] == 1.0 > grid.loc[0.0, "mrr"]
    # Clear agendas whose experts are not the busiest: the prior only hurts, and
    # ties go to 0, the plain hybrid.
    clear = _projects(AGENDAS[1:3], [[303], [101]])
    assert tune_retrieval_fusion(untuned, clear)[0].prior_weight == 0.0

    save_index(index, tmp_path / "index")
    with caplog.at_level(logging.INFO, logger="expert_kedro.retrieval.index_io"):
        loaded = load_index(tmp_path / "index")
    assert loaded.prior_weight == index.prior_weight
    assert np.array_equal(loaded.score_all(VAGUE), index.score_all(VAGUE))
    assert f"activity prior weight {index.prior_weight} (tuned on validation)" in (
        caplog.text
    )
    # An index saved before the prior existed loads as the plain hybrid, and says so.
    manifest_path = tmp_path / "index" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["fusion"]["prior_weight"], manifest["tuning"]["prior"]
    manifest_path.write_text(json.dumps(manifest))
    with caplog.at_level(logging.INFO, logger="expert_kedro.retrieval.index_io"):
        old = load_index(tmp_path / "index")
    assert old.prior_weight == 0.0
    assert np.array_equal(old.score_all(VAGUE), index.hybrid.score_all(VAGUE))
    assert "index built before the prior" in caplog.text


def test_no_test_project_moves_the_prior():
    """Bookings come from the training pairs only; tuning reads validation only."""
    roster, train = make_toy_roster(), make_toy_train_pairs()
    params = {"hybrid": {"bm25_weight": 0.4}, "index": {"include_answers": False}}
    validation = _projects(VAGUE, [[202], [202]])
    runs = []
    # The second test split books the least busy expert (404) on many projects.
    for test in (
        _projects([["Any question?"]], [[101]], start=50),
        _projects([[f"Shipping question {i}?"] for i in range(8)], [[404]] * 8, 60),
    ):
        documents = build_retrieval_documents(
            roster, train, pd.DataFrame(), validation, test, params
        )
        index, _ = tune_retrieval_fusion(
            fit_retrieval_index_parts(documents, params), validation
        )
        runs.append(index)
    first, second = runs
    assert first.popularity_counts.tolist() == BOOKINGS
    assert second.popularity_counts.tolist() == BOOKINGS
    assert first.prior_weight == second.prior_weight
    assert first.tuning["prior"] == second.tuning["prior"]
    assert np.array_equal(first.score_all(AGENDAS), second.score_all(AGENDAS))

"""BM25, dense, hybrid and popularity on a toy roster with obvious answers."""

from __future__ import annotations

import numpy as np
import pytest

from expert_kedro.retrieval import (
    BM25Retriever,
    HybridRetriever,
    PopularityRetriever,
    build_retrievers,
    fuse_scores,
    top_k,
    tune_fusion_weight,
)

from .toy_roster import QUERIES

AGENDAS = list(QUERIES.values())
ANSWERS = list(QUERIES)


def _first(retriever) -> list[int]:
    ids, _ = top_k(retriever.score_all(AGENDAS), retriever.expert_ids, 1)
    return ids[:, 0].tolist()


def test_bm25_ranks_the_obvious_expert_first(toy_bm25):
    assert toy_bm25.score_all(AGENDAS).shape == (len(AGENDAS), 4)
    assert _first(toy_bm25) == ANSWERS


def test_bm25_scores_unknown_words_as_zero(toy_bm25):
    assert toy_bm25.score_all([["zzz qqq"], []]).tolist() == [[0.0] * 4, [0.0] * 4]


def test_bm25_requires_fit():
    with pytest.raises(RuntimeError, match="before fit"):
        BM25Retriever().score_all([["x"]])


def test_dense_ranks_the_obvious_expert_first(toy_dense):
    scores = toy_dense.score_all(AGENDAS)
    assert np.all(np.abs(scores) <= 1.0 + 1e-5)
    assert _first(toy_dense) == ANSWERS


@pytest.mark.parametrize("fusion", ["zscore", "rrf"])
def test_hybrid_ranks_the_obvious_expert_first(toy_bm25, toy_dense, fusion):
    hybrid = HybridRetriever(toy_bm25, toy_dense, bm25_weight=0.5, fusion=fusion)
    assert _first(hybrid) == ANSWERS
    candidates = hybrid.candidates(AGENDAS, k=3)
    assert len(candidates) == 3 * len(AGENDAS)
    for _, group in candidates.groupby("agenda_index"):
        assert group["rank"].tolist() == [1, 2, 3]
        assert group["expert_id"].nunique() == 3
        assert set(group["expert_id"]) <= set(toy_bm25.expert_ids.tolist())


def test_popularity_prefers_the_most_booked_expert(toy_documents):
    popularity = PopularityRetriever().fit(toy_documents)
    # Expert 202 has three training projects, the others fewer.
    assert _first(popularity) == [202] * len(AGENDAS)


def test_fuse_scores_zscore_and_rrf_by_hand():
    bm25 = np.array([[3.0, 1.0, 2.0]])
    dense = np.array([[0.1, 0.3, 0.2]])
    # z(bm25) = [1.2247, -1.2247, 0]; z(dense) = [-1.2247, 1.2247, 0].
    fused = fuse_scores(bm25, dense, 0.75)
    assert fused[0] == pytest.approx([0.61237, -0.61237, 0.0], abs=1e-4)
    rrf = fuse_scores(bm25, dense, 0.5, fusion="rrf", rrf_k=1)
    # Ranks bm25 = [1, 3, 2], dense = [3, 1, 2] -> 0.5/(1+r).
    assert rrf[0] == pytest.approx(
        [0.5 / 2 + 0.5 / 4, 0.5 / 4 + 0.5 / 2, 0.5 / 3 + 0.5 / 3]
    )
    with pytest.raises(ValueError, match="Unknown fusion"):
        fuse_scores(bm25, dense, 0.5, fusion="max")
    with pytest.raises(ValueError, match="shapes"):
        fuse_scores(bm25, dense[:, :2], 0.5)


def test_tune_fusion_weight_prefers_the_informative_retriever():
    ids = np.array([1, 2, 3])
    # BM25 puts the right expert (1) first, dense puts it last.
    bm25 = np.array([[3.0, 2.0, 1.0], [2.9, 2.0, 1.0]])
    dense = np.array([[0.0, 0.5, 1.0], [0.0, 0.4, 1.0]])
    weight, table = tune_fusion_weight(
        bm25, dense, ids, [[1], [1]], [0.0, 0.25, 0.75, 1.0]
    )
    assert weight in {0.75, 1.0}
    assert table.set_index("bm25_weight").loc[0.0, "mrr"] == pytest.approx(1 / 3)
    # Equal best scores: the weight closest to 0.5 wins.
    assert weight == 0.75


def test_build_retrievers_from_parameters(toy_roster, toy_train_pairs):
    params = {
        "index": {"include_answers": False},
        "bm25": {"k1": 1.2},
        "dense": {"profile_weight": 0.3},
        "hybrid": {"bm25_weight": 0.4},
    }
    built = build_retrievers(toy_roster, toy_train_pairs, params)
    assert built["hybrid_tuning"]["bm25_weight"] == 0.4
    assert _first(built["hybrid"]) == ANSWERS
    with pytest.raises(ValueError, match="no validation projects"):
        build_retrievers(toy_roster, toy_train_pairs, {"hybrid": {"bm25_weight": None}})
    with pytest.raises(ValueError, match="include_answers"):
        build_retrievers(
            toy_roster, toy_train_pairs, {"index": {"include_answers": True}}
        )

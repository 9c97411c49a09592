"""Retrieval over the expert roster: BM25, dense (MiniLM), hybrid and popularity.

Every retriever is fit on ``ExpertDocuments`` built from the roster and the TRAIN
pairs only, and scores every roster expert::

    docs = build_expert_documents(expert_roster, train_pairs)
    check_no_leakage(docs, {"validation": validation_projects, "test": test_projects})
    bm25 = BM25Retriever().fit(docs)
    dense = DenseRetriever(load_sentence_encoder(), profile_weight=0.3).fit(docs)
    hybrid = HybridRetriever(bm25, dense, bm25_weight=0.3)
    scores = hybrid.score_all([agenda])  # [1, n_experts], cols = expert_ids
    ids, s = top_k(scores, hybrid.expert_ids, 10)  # 10 distinct roster experts
    table = hybrid.candidates(agendas, k=10)  # long table, e.g. LLM rerank input

``build_retrievers`` does the whole construction from a parameters dictionary (the
``evaluation`` group of ``parameters_evaluation.yml``), so another pipeline (e.g. hard
negatives for training) gets exactly the retrievers the evaluation uses.
"""

from __future__ import annotations

from expert_kedro.retrieval.base import (
    Recommender,
    ScoringRecommender,
    ScoringRetriever,
    agenda_text,
    top_k,
)
from expert_kedro.retrieval.bm25 import BM25Retriever
from expert_kedro.retrieval.dense import DenseRetriever
from expert_kedro.retrieval.encoder import SentenceEncoder, load_sentence_encoder
from expert_kedro.retrieval.expert_documents import (
    ExpertDocuments,
    IndexLeakageError,
    build_expert_documents,
    check_no_leakage,
)
from expert_kedro.retrieval.factory import build_retrievers
from expert_kedro.retrieval.hybrid import (
    HybridRetriever,
    fuse_scores,
    tune_fusion_weight,
)
from expert_kedro.retrieval.popularity import PopularityRetriever

__all__ = [
    "BM25Retriever",
    "DenseRetriever",
    "ExpertDocuments",
    "HybridRetriever",
    "IndexLeakageError",
    "PopularityRetriever",
    "Recommender",
    "ScoringRecommender",
    "ScoringRetriever",
    "SentenceEncoder",
    "agenda_text",
    "build_expert_documents",
    "build_retrievers",
    "check_no_leakage",
    "fuse_scores",
    "load_sentence_encoder",
    "top_k",
    "tune_fusion_weight",
]

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

``RetrievalIndex`` holds all of them fitted once (the ``retrieval`` pipeline saves it
as the versioned ``retrieval_index`` dataset), so consumers load it instead of
re-fitting and re-encoding the roster::

    index = tune_retrieval_index(fit_retrieval_index(docs, settings), validation)
    index.candidates(agendas, k=10)  # hybrid top-k
    index.retrievers()  # popularity, bm25, dense, hybrid, hybrid+prior (+ recent)
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
from expert_kedro.retrieval.cross_fit import CrossFittedScorer, cross_fitted_scorer
from expert_kedro.retrieval.dense import DenseRetriever
from expert_kedro.retrieval.encoder import (
    EncoderInfo,
    EncoderMismatchError,
    SentenceEncoder,
    load_sentence_encoder,
)
from expert_kedro.retrieval.expert_documents import (
    ExpertDocuments,
    build_expert_documents,
)
from expert_kedro.retrieval.factory import build_retrievers
from expert_kedro.retrieval.hybrid import (
    HybridRetriever,
    fuse_scores,
    tune_fusion_weight,
)
from expert_kedro.retrieval.index import RetrievalIndex
from expert_kedro.retrieval.index_fitting import (
    build_documents,
    fit_retrieval_index,
    tune_retrieval_index,
)
from expert_kedro.retrieval.index_io import (
    RetrievalIndexFormatError,
    load_index,
    save_index,
)
from expert_kedro.retrieval.leakage import IndexLeakageError, check_no_leakage
from expert_kedro.retrieval.popularity import PopularityRetriever
from expert_kedro.retrieval.prior import (
    PRIOR_SYSTEM,
    PriorFusedRetriever,
    PriorSettings,
)
from expert_kedro.retrieval.recency import (
    RECENT_SYSTEM,
    RecencySettings,
    RecentActivityRetriever,
)
from expert_kedro.retrieval.settings import RetrievalSettings
from expert_kedro.retrieval.timeline import Timeline, as_of_times, retriever_times

__all__ = [
    "CrossFittedScorer",
    "build_documents",
    "cross_fitted_scorer",
    "PRIOR_SYSTEM",
    "RECENT_SYSTEM",
    "BM25Retriever",
    "DenseRetriever",
    "EncoderInfo",
    "EncoderMismatchError",
    "ExpertDocuments",
    "HybridRetriever",
    "IndexLeakageError",
    "PopularityRetriever",
    "PriorFusedRetriever",
    "PriorSettings",
    "RecencySettings",
    "RecentActivityRetriever",
    "Recommender",
    "RetrievalIndex",
    "RetrievalIndexFormatError",
    "RetrievalSettings",
    "ScoringRecommender",
    "ScoringRetriever",
    "SentenceEncoder",
    "Timeline",
    "agenda_text",
    "as_of_times",
    "build_expert_documents",
    "build_retrievers",
    "check_no_leakage",
    "fit_retrieval_index",
    "fuse_scores",
    "load_index",
    "load_sentence_encoder",
    "retriever_times",
    "save_index",
    "top_k",
    "tune_fusion_weight",
    "tune_retrieval_index",
]

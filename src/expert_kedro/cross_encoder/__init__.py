"""The cross-encoder reranker: the practitioner's peer of the fine-tuned LLM.

A sentence-transformers ``CrossEncoder`` initialised from the dense retriever's
all-MiniLM-L6-v2, trained on the LLM's own rerank pairs (:mod:`.training`) and
scoring the retriever's candidates in the LLM scorer's place (:mod:`.scorer`), so
that the evaluation retrieves, fuses and tunes it exactly as the LLM systems.
"""

from expert_kedro.cross_encoder.scorer import CrossEncoderScorer
from expert_kedro.cross_encoder.settings import CrossEncoderSettings
from expert_kedro.cross_encoder.texts import split_rerank_input, training_table
from expert_kedro.cross_encoder.training import (
    TrainedCrossEncoder,
    load_cross_encoder,
    train_cross_encoder,
)

__all__ = [
    "CrossEncoderScorer",
    "CrossEncoderSettings",
    "TrainedCrossEncoder",
    "load_cross_encoder",
    "split_rerank_input",
    "training_table",
    "train_cross_encoder",
]

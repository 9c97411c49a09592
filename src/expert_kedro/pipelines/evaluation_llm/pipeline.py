"""Wiring of the evaluation_llm pipeline's LLM systems.

The registry composes it with the evaluation pipeline, whose metrics node also scores
``llm_rankings``, ``zero_shot_rankings`` and ``cross_encoder_rankings``.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    rank_cross_encoder_projects,
    rank_llm_projects,
    rank_zero_shot_projects,
    train_cross_encoder_model,
)

# Held-out projects, the leak-checked retrieval index, roster and past questions:
# what every reranking system reads; the LLM systems also read the base model.
_PROJECT_INPUTS = [
    "checked_retrieval_index",
    "validation_projects",
    "test_projects",
    "partial_test_projects",
    "expert_roster",
    "train_pairs",
]
_SYSTEM_INPUTS = [*_PROJECT_INPUTS, "base_model"]
_SYSTEM_PARAMS = ["params:recommender", "params:pairs"]


def create_pipeline(**kwargs) -> Pipeline:
    """The LLM system nodes (fine-tuned and zero-shot) and the cross-encoder peer."""
    return Pipeline(
        [
            node(
                rank_llm_projects,
                inputs=[*_SYSTEM_INPUTS, "lora_adapter", *_SYSTEM_PARAMS],
                outputs=["llm_rankings", "llm_rerank_tuning", "rerank_tuning"],
                name="rank_llm_projects_node",
            ),
            node(
                rank_zero_shot_projects,
                inputs=[*_SYSTEM_INPUTS, *_SYSTEM_PARAMS],
                outputs=["zero_shot_rankings", "zero_shot_report"],
                name="rank_zero_shot_projects_node",
            ),
            node(
                train_cross_encoder_model,
                inputs=["rerank_train_pairs", "params:cross_encoder"],
                outputs="cross_encoder",
                name="train_cross_encoder_node",
            ),
            node(
                rank_cross_encoder_projects,
                inputs=[
                    *_PROJECT_INPUTS,
                    "cross_encoder",
                    "params:recommender",
                    "params:cross_encoder",
                ],
                outputs=["cross_encoder_rankings", "cross_encoder_report"],
                name="rank_cross_encoder_projects_node",
            ),
        ]
    )

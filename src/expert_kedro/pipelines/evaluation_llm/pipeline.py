"""Wiring of the evaluation_llm pipeline's LLM systems.

The registry composes it with the evaluation pipeline, whose metrics node also scores
``llm_rankings`` and ``zero_shot_rankings``.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import rank_llm_projects, rank_zero_shot_projects

# Held-out projects, the leak-checked retrieval index, roster and prompts: what every
# LLM system reads.
_SYSTEM_INPUTS = [
    "checked_retrieval_index",
    "validation_projects",
    "test_projects",
    "partial_test_projects",
    "expert_roster",
    "train_pairs",
    "base_model",
]
_SYSTEM_PARAMS = ["params:recommender", "params:pairs"]


def create_pipeline(**kwargs) -> Pipeline:
    """The LLM system nodes (fine-tuned and zero-shot)."""
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
        ]
    )

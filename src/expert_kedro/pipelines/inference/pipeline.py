"""Wiring of the inference pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    fit_candidate_retriever,
    load_recommender_model,
    parse_new_agendas,
    recommend_experts,
)


def create_pipeline(**kwargs) -> Pipeline:
    """New agendas -> ranked, grounded expert recommendations + latency metrics."""
    return Pipeline(
        [
            node(
                parse_new_agendas,
                inputs="new_agendas",
                outputs="parsed_agendas",
                name="parse_new_agendas_node",
            ),
            node(
                load_recommender_model,
                inputs=["base_model", "lora_adapter", "params:recommender"],
                outputs="recommender_model",
                name="load_recommender_model_node",
            ),
            node(
                fit_candidate_retriever,
                inputs=[
                    "expert_roster",
                    "train_pairs",
                    "validation_projects",
                    "clean_matches",
                    "params:evaluation",
                    "params:recommender",
                ],
                outputs="candidate_retriever",
                name="fit_candidate_retriever_node",
            ),
            node(
                recommend_experts,
                inputs=[
                    "parsed_agendas",
                    "recommender_model",
                    "candidate_retriever",
                    "expert_roster",
                    "train_pairs",
                    "params:recommender",
                    "params:pairs",
                ],
                outputs=["recommendations", "inference_metrics"],
                name="recommend_experts_node",
            ),
        ]
    )

"""Wiring of the inference pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import load_recommender, parse_new_agendas, recommend_experts


def create_pipeline(**kwargs) -> Pipeline:
    """New agendas -> ranked, grounded expert recommendations + latency metrics.

    Nothing is fit: the candidates come from the saved ``retrieval_index`` and the
    fusion weight from ``rerank_tuning`` (when ``evaluation_llm`` has tuned one for
    this adapter) or the parameters.
    """
    return Pipeline(
        [
            node(
                parse_new_agendas,
                inputs=["new_agendas", "retrieval_index"],
                outputs="parsed_agendas",
                name="parse_new_agendas_node",
            ),
            node(
                load_recommender,
                inputs=[
                    "parsed_agendas",
                    "base_model",
                    "lora_adapter",
                    "retrieval_index",
                    "rerank_tuning",
                    "expert_roster",
                    "train_pairs",
                    "params:recommender",
                    "params:pairs",
                ],
                outputs="loaded_recommender",
                name="load_recommender_node",
            ),
            node(
                recommend_experts,
                inputs=["parsed_agendas", "loaded_recommender"],
                outputs=["recommendations", "inference_metrics"],
                name="recommend_experts_node",
            ),
        ]
    )
